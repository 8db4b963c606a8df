"""Helpers shared by the auth tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.auth import KeyPair
from symbot.client import SymphonyClient
from symbot.config import BotConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.errors import ConfigError
from symbot.transport import Transport

BOT = "bot"
POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05, max_attempts=4)

MakeClient = Callable[..., SymphonyClient]


def pem_of(
    key: rsa.RSAPrivateKey, *, pkcs1: bool = False, passphrase: bytes | None = None
) -> bytes:
    """`key` as PEM: PKCS#8 (default) or PKCS#1, encrypted with `passphrase` when given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if pkcs1
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


def load_key(pair: KeyPair) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pair.private_key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def emulator_transport(emu: Emulator, *, retry: RetryPolicy | None = None) -> Transport:
    """A `Transport` to the in-process `emu` for a provider used without a client."""
    config = BotConfig(pod_url=emu.base_url, retry=retry or RetryPolicy())
    return Transport(config, transport=emu.transport())


def served_transport(emu: Emulator, *, retry: RetryPolicy | None = None) -> Transport:
    """A `Transport` to the served `emu` over HTTPS, trusting its CA."""
    config = BotConfig(pod_url=emu.https_url, ca_bundle=emu.ca_bundle, retry=retry or RetryPolicy())
    return Transport(config)


def load_config(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> BotConfig:
    """`text` as `tmp_path/symbot.toml`, loaded with `env` as the whole environment."""
    path = tmp_path / "symbot.toml"
    path.write_text(text)
    return BotConfig.from_file(path, env=env or {})


def config_error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    """The ConfigError that loading `text` raises; it must say the fix."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, text, env)
    assert "Fix:" in str(caught.value)
    return caught.value
