"""Fixtures for the apps tests: an app key pair made once, and a served emulator (HTTPS on
loopback, its own CA) where the app is registered and alice, bob and carol exist."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from attrs import evolve

from symbot.apps import App
from symbot.auth import KeyPair
from symbot.config import AppAuth, BotConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.emulator._keys import generate_rsa_key_pair

APP_ID = "compliance-app"
PEOPLE = ("alice", "bob", "carol")
FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05, max_attempts=3)

MakeApp = Callable[..., App]


@pytest.fixture(scope="session")
def app_keys() -> KeyPair:
    return generate_rsa_key_pair()


@pytest.fixture(scope="session")
def people_keys() -> KeyPair:
    """One key pair the people share (they never log in themselves)."""
    return generate_rsa_key_pair()


@pytest.fixture
async def served(app_keys: KeyPair, people_keys: KeyPair) -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        emu.add_app(APP_ID, public_key_pem=app_keys.public_key_pem)
        for name in PEOPLE:
            emu.add_user(name, public_key_pem=people_keys.public_key_pem)
        yield emu


def app_config(emu: Emulator, app_keys: KeyPair, **app_options: Any) -> BotConfig:
    """An app-only configuration for the served `emu` (HTTPS, trusting its CA)."""
    options: dict[str, Any] = {"app_id": APP_ID, "private_key": app_keys.private_key_pem}
    app = AppAuth(**{**options, **app_options})
    return BotConfig(pod_url=emu.https_url, ca_bundle=emu.ca_bundle, app=app, retry=FAST_RETRY)


@pytest.fixture
def make_app(served: Emulator, app_keys: KeyPair) -> MakeApp:
    """`make_app(**app_options)`: an `App` for the served emulator; `config=` changes it."""

    def make(config: Callable[[BotConfig], BotConfig] | None = None, **options: Any) -> App:
        built = app_config(served, app_keys, **options)
        return App(config(built) if config is not None else evolve(built))

    return make
