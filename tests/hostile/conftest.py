"""Fixtures of the hostile-server suite: one RSA key pair for every bot and person."""

from __future__ import annotations

import pytest

from symbot.emulator._keys import KeyPair, generate_rsa_key_pair


@pytest.fixture(scope="session")
def key() -> KeyPair:
    """The key pair of the bot (and of the people it talks to, who never log in)."""
    return generate_rsa_key_pair()
