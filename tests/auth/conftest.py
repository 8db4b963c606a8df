"""Fixtures for the auth core's tests: RSA keys made once, a fresh in-process emulator per test,
and a `make_client` factory building a `SymphonyClient` for the emulator's `bot` user."""

from __future__ import annotations

from typing import Any

import pytest

from symbot.auth import RsaJwtAuth
from symbot.client import SymphonyClient
from symbot.config import BotConfig
from symbot.emulator import Emulator
from symbot.emulator._keys import KeyPair, generate_rsa_key_pair

from .support import BOT, FAST_RETRY, MakeClient


@pytest.fixture(scope="session")
def bot_keys() -> KeyPair:
    return generate_rsa_key_pair()


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    """A key pair nobody registered on the emulator."""
    return generate_rsa_key_pair()


@pytest.fixture
def emu(bot_keys: KeyPair) -> Emulator:
    emulator = Emulator()
    emulator.add_user(BOT, display_name="Echo Bot", public_key_pem=bot_keys.public_key_pem)
    return emulator


@pytest.fixture
def make_client(emu: Emulator, bot_keys: KeyPair) -> MakeClient:
    """`make_client(emulator=emu, **config_overrides)`: an in-process client for `bot`."""

    def make(emulator: Emulator | None = None, **overrides: Any) -> SymphonyClient:
        target = emulator or emu
        options: dict[str, Any] = {
            "pod_url": target.base_url,
            "auth": RsaJwtAuth(username=BOT, private_key=bot_keys.private_key_pem),
            "retry": FAST_RETRY,
        }
        options.update(overrides)
        return SymphonyClient(BotConfig(**options), transport=target.transport())

    return make
