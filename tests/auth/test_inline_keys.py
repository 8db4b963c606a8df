"""Key material given inline, as container platforms hand secrets over: a value holding a
`-----BEGIN` line is the key itself, never a path, from TOML, from `SYMBOT_*` variables or
from Python, for RSA keys and client certificates; and it logs in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from attrs import evolve

from symbot.auth import CertificateAuth, KeyPair, RsaJwtAuth
from symbot.client import SymphonyClient
from symbot.config import BotConfig
from symbot.emulator import Emulator
from symbot.errors import ConfigError

from .support import BOT, FAST_RETRY, load_key, pem_of

pytestmark = pytest.mark.anyio


def _body_lines(pem: bytes) -> list[str]:
    return [line for line in pem.decode().splitlines() if not line.startswith("-----")]


async def test_a_pem_key_in_the_environment_is_the_key_and_logs_in(
    emu: Emulator, bot_keys: KeyPair
) -> None:
    pem = bot_keys.private_key_pem.decode()
    config = BotConfig.from_env(
        {
            "SYMBOT_POD_URL": emu.base_url,
            "SYMBOT_AUTH_USERNAME": BOT,
            "SYMBOT_AUTH_PRIVATE_KEY": pem,
        }
    )
    assert isinstance(config.auth, RsaJwtAuth)
    assert config.auth.private_key == pem
    assert not any(line in repr(config) for line in _body_lines(bot_keys.private_key_pem))
    async with SymphonyClient(config, transport=emu.transport()) as client:
        info = await client.session_info()
    assert info.username == BOT


@pytest.mark.parametrize("quote", ['"""\n{}"""', "'{}'"], ids=["multi-line", "escaped"])
async def test_a_pem_key_in_the_file_is_the_key_and_logs_in(
    emu: Emulator, bot_keys: KeyPair, tmp_path: Path, quote: str
) -> None:
    pem = pem_of(load_key(bot_keys), pkcs1=True).decode()
    value = pem if quote.startswith('"') else pem.replace("\n", "\\n")  # one line, \n escapes
    path = tmp_path / "symbot.toml"
    path.write_text(
        f'pod_url = "{emu.base_url}"\n[auth]\nusername = "{BOT}"\n'
        f"private_key = {quote.format(value)}\n"
    )
    config = BotConfig.from_file(path, env={})
    assert isinstance(config.auth, RsaJwtAuth)
    assert config.auth.private_key == pem
    async with SymphonyClient(config, transport=emu.transport()) as client:
        assert (await client.session_info()).username == BOT


def test_openssl_output_with_bag_attributes_before_the_pem_is_pem_text(bot_keys: KeyPair) -> None:
    text = "Bag Attributes\n    localKeyID: 01 02\n" + bot_keys.private_key_pem.decode()
    auth = RsaJwtAuth(username=BOT, private_key=text)
    assert auth.private_key == text


@pytest.mark.parametrize(
    "value",
    ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" * 8, "line one\nline two", "   "],
    ids=["base64 without PEM lines", "line breaks", "blank"],
)
def test_a_value_that_is_neither_a_path_nor_pem_is_refused_unseen(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig.from_env(
            {
                "SYMBOT_POD_URL": "https://acme.symphony.com",
                "SYMBOT_AUTH_USERNAME": BOT,
                "SYMBOT_AUTH_PRIVATE_KEY": value,
            }
        )
    assert caught.value.field == "auth.private_key"
    assert "neither a file path nor PEM text" in str(caught.value)
    shown = value.strip()[:20]
    assert not shown or shown not in str(caught.value)


@pytest.fixture
async def served(bot_keys: KeyPair) -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
        yield emu


@pytest.mark.parametrize("split", [False, True], ids=["certificate with key", "separate key"])
async def test_a_client_certificate_in_the_environment_logs_in_over_mutual_tls(
    served: Emulator, split: bool
) -> None:
    issued = served.issue_certificate(BOT)
    env = {"SYMBOT_POD_URL": served.https_url, "SYMBOT_CA_BUNDLE": str(served.ca_bundle)}
    if split:
        env |= {"SYMBOT_AUTH_CERTIFICATE": issued.cert_pem.decode()}
        env |= {"SYMBOT_AUTH_KEY": issued.key_pem.decode()}
    else:
        env |= {"SYMBOT_AUTH_CERTIFICATE": (issued.cert_pem + issued.key_pem).decode()}
    config = BotConfig.from_env(env)
    assert isinstance(config.auth, CertificateAuth)
    assert not any(line in repr(config) for line in _body_lines(issued.key_pem))
    async with SymphonyClient(evolve(config, retry=FAST_RETRY)) as client:
        assert (await client.session_info()).username == BOT
