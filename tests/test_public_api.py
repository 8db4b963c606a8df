"""The public API promised in docs/architecture.md exists under the promised names."""

from __future__ import annotations

import importlib

import pytest

import symbot

CONTRACT = {
    "symbot": ["Bot", "BotConfig", "Message", "Event", "on_message", "on_event", "command"],
    "symbot.auth": ["AuthProvider", "AuthSession", "RsaJwtAuth", "CertificateAuth", "Tokens"],
    "symbot.emulator": ["Emulator"],
    "symbot.services": ["Users", "Streams", "Messages", "Services", "UserInfo", "RoomInfo"],
    "symbot.testing": [],
}


@pytest.mark.parametrize("module", sorted(CONTRACT))
def test_contract_names_are_importable(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in CONTRACT[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lacks {missing}"


def test_everything_in_all_exists() -> None:
    assert sorted(set(symbot.__all__)) == sorted(symbot.__all__)
    assert [name for name in symbot.__all__ if not hasattr(symbot, name)] == []


def test_bot_offers_its_documented_methods() -> None:
    for name in ["serve", "run", "stop", "send_message", "session_info", "on_start", "on_stop"]:
        assert callable(getattr(symbot.Bot, name)), name
    for name in ["users", "streams", "messages", "services"]:
        assert isinstance(getattr(symbot.Bot, name), property), name
    assert callable(symbot.Bot.on_error)
