"""Certificate login over real mutual TLS against the served emulator: PEM, encrypted PEM
and PKCS#12; refusals; and no unencrypted key material on disk, ever."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from symbot.auth import CertificateAuth, KeyPair, provider_for
from symbot.client import SymphonyClient
from symbot.config import BotConfig
from symbot.emulator import Emulator
from symbot.errors import AuthenticationError, NetworkError

from .support import BOT, FAST_RETRY, served_transport

pytestmark = pytest.mark.anyio

SESSION_AUTH = "/sessionauth/v1/authenticate"
KEY_AUTH = "/keyauth/v1/authenticate"


@pytest.fixture
async def served(bot_keys: KeyPair) -> AsyncIterator[Emulator]:
    """Served on loopback; no cancel scope spans the yield (timeouts: the client's own)."""
    async with Emulator() as emu:
        emu.add_user(BOT, display_name="Echo Bot", public_key_pem=bot_keys.public_key_pem)
        yield emu


def _client(emu: Emulator, auth: CertificateAuth, **overrides: Any) -> SymphonyClient:
    options: dict[str, Any] = {
        "pod_url": emu.https_url,
        "ca_bundle": emu.ca_bundle,
        "auth": auth,
        "retry": FAST_RETRY,
    }
    options.update(overrides)
    return SymphonyClient(BotConfig(**options))


async def _login_and_call(emu: Emulator, auth: CertificateAuth) -> None:
    async with _client(emu, auth) as client:
        info = await client.session_info()
        await client.request("agent", "GET", "/agent/v5/datafeeds")
    assert info.username == BOT
    assert emu.counters.logins == {SESSION_AUTH: 1, KEY_AUTH: 1}


async def test_certificate_login_with_pem_files(served: Emulator, tmp_path: Path) -> None:
    cert, key = served.issue_certificate(BOT).write_pem(tmp_path)
    await _login_and_call(served, CertificateAuth(certificate=cert, key=key))


async def test_certificate_login_with_an_encrypted_pem_key(
    served: Emulator, tmp_path: Path
) -> None:
    cert, key = served.issue_certificate(BOT).write_pem(tmp_path, passphrase="k3y pass")
    await _login_and_call(served, CertificateAuth(certificate=cert, key=key, password="k3y pass"))


async def test_certificate_login_with_pkcs12(served: Emulator, tmp_path: Path) -> None:
    p12 = served.issue_certificate(BOT).write_p12(tmp_path / "bot.p12", "p12 pass")
    await _login_and_call(served, CertificateAuth(certificate=p12, password="p12 pass"))


async def test_the_username_defaults_to_the_certificate_cn(
    served: Emulator, tmp_path: Path
) -> None:
    cert, key = served.issue_certificate(BOT).write_pem(tmp_path)
    async with _client(served, CertificateAuth(certificate=cert, key=key)) as client:
        assert getattr(client.provider, "username", None) == BOT


async def test_a_certificate_from_a_foreign_ca_is_an_authentication_error_at_once(
    served: Emulator, tmp_path: Path
) -> None:
    # The emulator's TLS listener answers with the "unknown ca" alert, as a real server does:
    # a refused certificate is configuration, so it is not retried.
    cert, key = served.foreign_certificate(BOT).write_pem(tmp_path)
    async with _client(served, CertificateAuth(certificate=cert, key=key)) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.session.tokens()
    assert "refused the client certificate" in str(caught.value)
    assert "CA the pod trusts" in str(caught.value)
    assert served.counters.logins == {}


async def test_a_provider_without_a_client_also_refuses_a_foreign_certificate_at_once(
    served: Emulator, tmp_path: Path
) -> None:
    cert, key = served.foreign_certificate(BOT).write_pem(tmp_path)
    auth = CertificateAuth(certificate=cert, key=key)
    provider = provider_for(auth)
    async with served_transport(served) as transport:
        with pytest.raises(AuthenticationError, match="refused the client certificate"):
            await provider.login(transport)
    assert served.counters.logins == {}


async def test_a_certificate_for_an_unknown_user_is_refused(
    served: Emulator, tmp_path: Path
) -> None:
    cert, key = served.issue_certificate(BOT, common_name="stranger").write_pem(tmp_path)
    async with _client(served, CertificateAuth(certificate=cert, key=key)) as client:
        with pytest.raises(AuthenticationError, match="'stranger'"):
            await client.session.tokens()


async def test_a_server_the_ca_bundle_does_not_trust_is_a_transport_error(
    served: Emulator, tmp_path: Path
) -> None:
    cert, key = served.issue_certificate(BOT).write_pem(tmp_path)
    auth = CertificateAuth(certificate=cert, key=key)
    async with _client(served, auth, ca_bundle=None) as client:
        with pytest.raises(NetworkError, match="CA bundle"):
            await client.session.tokens()


async def test_the_key_never_lands_unencrypted_in_a_file(
    served: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = served.issue_certificate(BOT).write_pem(tmp_path)
    seen: list[tuple[bytes, int]] = []
    real_unlink = os.unlink

    def inspect_then_unlink(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> None:
        if Path(path).name.startswith("symbot-") and Path(path).is_file():
            seen.append((Path(path).read_bytes(), stat.S_IMODE(os.stat(path).st_mode)))
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", inspect_then_unlink)
    client = _client(served, CertificateAuth(certificate=cert, key=key))
    monkeypatch.undo()
    async with client:
        await client.session.tokens()
    assert seen, "the certificate context was built from a temporary file"
    for content, mode in seen:
        assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in content
        assert b"-----BEGIN PRIVATE KEY-----" not in content
        assert b"-----BEGIN EC PRIVATE KEY-----" not in content
        assert mode == 0o600
