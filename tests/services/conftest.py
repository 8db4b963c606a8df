"""Fixtures for the services' tests: one RSA key pair per session, a fresh in-process
emulator with the bot and three people per test, and an open client for the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from symbot.client import SymphonyClient
from symbot.emulator import Emulator
from symbot.emulator._keys import KeyPair, generate_rsa_key_pair
from symbot.services import Messages, Streams, Users

from .support import bot_config, pod_with_people


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return generate_rsa_key_pair()


@pytest.fixture
def emu(keys: KeyPair) -> Emulator:
    return pod_with_people(keys)


@pytest.fixture
async def client(emu: Emulator, keys: KeyPair) -> AsyncIterator[SymphonyClient]:
    async with SymphonyClient(bot_config(emu.base_url, keys), transport=emu.transport()) as c:
        yield c


@pytest.fixture
def users(client: SymphonyClient) -> Users:
    return Users(client)


@pytest.fixture
def streams(client: SymphonyClient) -> Streams:
    return Streams(client)


@pytest.fixture
def messages(client: SymphonyClient) -> Messages:
    return Messages(client)
