"""The emulator served on loopback: HTTPS with its CA, certificate login over real mutual TLS,
faults on real sockets, the CA bundle's lifetime and the bot configuration it renders."""

from __future__ import annotations

import ssl
import stat
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from symbot.emulator import Emulator, IssuedCertificate, emulator_config_toml

from .support import (
    ALICE,
    BOT,
    KM_CERT_LOGIN,
    POD_LOGIN,
    SESSION_CERT_LOGIN,
    KeyPairs,
    RsaLogin,
    tls_alert_of,
)

pytestmark = pytest.mark.anyio

CERT_LOGINS = pytest.mark.parametrize("path", [SESSION_CERT_LOGIN, KM_CERT_LOGIN])


@pytest.fixture
async def served(keys: KeyPairs) -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        emu.add_user(BOT, public_key_pem=keys[0].public_key_pem)
        emu.add_user(ALICE, public_key_pem=keys[1].public_key_pem)
        yield emu


def tls_context(
    emu: Emulator,
    tmp_path: Path,
    certificate: IssuedCertificate | None = None,
    passphrase: str | None = None,
) -> ssl.SSLContext:
    """A client TLS context trusting the emulator CA, presenting `certificate` if given."""
    context = ssl.create_default_context(cafile=str(emu.ca_bundle))
    if certificate is not None:
        cert_path, key_path = certificate.write_pem(tmp_path, passphrase=passphrase)
        context.load_cert_chain(cert_path, key_path, password=passphrase)
    return context


def https_client(emu: Emulator, context: ssl.SSLContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=emu.https_url, verify=context)


# --- serving --------------------------------------------------------------------------------


async def test_every_role_answers_on_http_and_on_https_with_the_emulator_ca(
    served: Emulator, tmp_path: Path
) -> None:
    context = tls_context(served, tmp_path)
    localhost = served.https_url.replace("127.0.0.1", "localhost")

    async with httpx.AsyncClient(verify=context) as http:
        for base in (served.http_url, served.https_url, localhost):
            response = await http.get(f"{base}/agent/v3/health")
            assert response.status_code == 200
            assert response.json()["status"] == "UP"

    assert served.http_url.startswith("http://127.0.0.1:")
    assert served.https_url.startswith("https://127.0.0.1:")
    assert served.ca_bundle.read_bytes() == served.ca_pem


async def test_https_is_not_trusted_without_the_emulator_ca(served: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{served.https_url}/agent/v3/health")


async def test_rsa_login_over_http_gives_tokens_that_work_over_https(
    served: Emulator, keys: KeyPairs, rsa_login: RsaLogin, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=served.http_url) as http:
        headers = await rsa_login(http, BOT, keys[0].private_key_pem)

    async with https_client(served, tls_context(served, tmp_path)) as https:
        info = await https.get("/pod/v2/sessioninfo", headers=headers)
        feeds = await https.get("/agent/v5/datafeeds", headers=headers)

    assert info.json()["username"] == BOT
    assert feeds.status_code == 200


async def test_ca_bundle_is_removed_and_urls_unavailable_after_exit(keys: KeyPairs) -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not serving"):
        _ = emu.https_url
    async with emu:
        bundle = emu.ca_bundle
        assert bundle.exists()
        with pytest.raises(RuntimeError, match="already serving"):
            await emu.__aenter__()

    assert not bundle.exists()
    with pytest.raises(RuntimeError, match="not serving"):
        _ = emu.ca_bundle


# --- certificate login over mutual TLS -------------------------------------------------------


async def test_certificate_logins_give_tokens_for_the_agent(
    served: Emulator, tmp_path: Path
) -> None:
    context = tls_context(served, tmp_path, served.issue_certificate(BOT))

    async with https_client(served, context) as https:
        headers = {}
        for path in (SESSION_CERT_LOGIN, KM_CERT_LOGIN):
            response = await https.post(path)
            assert response.status_code == 200, response.text
            headers[response.json()["name"]] = response.json()["token"]
        created = await https.post("/agent/v5/datafeeds", headers=headers)
        info = await https.get("/pod/v2/sessioninfo", headers=headers)

    assert created.status_code == 201
    assert info.json()["username"] == BOT
    assert served.counters.logins == {SESSION_CERT_LOGIN: 1, KM_CERT_LOGIN: 1}


@CERT_LOGINS
async def test_certificate_login_without_a_certificate_is_refused(
    served: Emulator, tmp_path: Path, path: str
) -> None:
    async with https_client(served, tls_context(served, tmp_path)) as https:
        response = await https.post(path)

    assert response.status_code == 401
    assert "certificate" in response.json()["message"]


@CERT_LOGINS
async def test_certificate_from_a_foreign_ca_is_refused(
    served: Emulator, tmp_path: Path, path: str
) -> None:
    context = tls_context(served, tmp_path, served.foreign_certificate(BOT))

    async with https_client(served, context) as https:
        with pytest.raises((httpx.TransportError, ssl.SSLError)) as caught:
            await https.post(path)

    assert tls_alert_of(caught.value) == "TLSV1_ALERT_UNKNOWN_CA"  # as a real server answers
    assert served.counters.logins == {}


@CERT_LOGINS
async def test_certificate_with_an_unknown_cn_is_refused(
    served: Emulator, tmp_path: Path, path: str
) -> None:
    context = tls_context(served, tmp_path, served.issue_certificate(BOT, common_name="ghost"))

    async with https_client(served, context) as https:
        response = await https.post(path)

    assert response.status_code == 401
    assert "ghost" in response.json()["message"]


async def test_certificate_login_refuses_a_body_and_a_content_type(
    served: Emulator, tmp_path: Path
) -> None:
    context = tls_context(served, tmp_path, served.issue_certificate(BOT))

    async with https_client(served, context) as https:
        with_body = await https.post(SESSION_CERT_LOGIN, content=b"")
        with_json = await https.post(SESSION_CERT_LOGIN, json={})
        with_type = await https.post(
            SESSION_CERT_LOGIN, headers={"content-type": "application/json"}
        )

    assert with_body.status_code == 200  # an empty body is no body
    assert with_json.status_code == 401  # the Content-Type is refused first, as Symphony does
    assert with_type.status_code == 401


async def test_lenient_emulator_accepts_a_bare_content_type(tmp_path: Path) -> None:
    async with Emulator(strict_content_type=False) as emu:
        emu.add_user(BOT, key_size=2048)
        context = tls_context(emu, tmp_path, emu.issue_certificate(BOT))
        async with https_client(emu, context) as https:
            response = await https.post(KM_CERT_LOGIN, headers={"content-type": "application/json"})

    assert response.status_code == 200


async def test_certificate_with_an_encrypted_key_logs_in(served: Emulator, tmp_path: Path) -> None:
    certificate = served.issue_certificate(ALICE)
    context = tls_context(served, tmp_path, certificate, passphrase="correct horse")
    key_path = tmp_path / f"{ALICE}.key"

    async with https_client(served, context) as https:
        response = await https.post(SESSION_CERT_LOGIN)

    assert response.status_code == 200
    assert key_path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert "key_pem" not in repr(certificate)


async def test_pkcs12_file_holds_a_certificate_that_logs_in(
    served: Emulator, tmp_path: Path
) -> None:
    p12 = served.issue_certificate(BOT).write_p12(tmp_path / "bot.p12", "s3cret")
    assert stat.S_IMODE(p12.stat().st_mode) == 0o600

    key, cert, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), b"s3cret")
    assert key is not None
    assert cert is not None
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == BOT
    converted = IssuedCertificate(
        common_name="from-p12",
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    async with https_client(served, tls_context(served, tmp_path, converted)) as https:
        response = await https.post(KM_CERT_LOGIN)

    assert response.status_code == 200


# --- faults on real sockets, configuration ---------------------------------------------------


async def test_drop_fault_closes_the_real_connection(served: Emulator) -> None:
    served.fault("/agent/v3/health", drop=True)

    async with httpx.AsyncClient(base_url=served.http_url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/agent/v3/health")
        assert (await http.get("/agent/v3/health")).status_code == 200


async def test_status_fault_with_retry_after_over_http(served: Emulator) -> None:
    served.fault(POD_LOGIN, status=429, retry_after=3)

    async with httpx.AsyncClient(base_url=served.http_url) as http:
        response = await http.post(POD_LOGIN, json={"token": "irrelevant"})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


async def test_bot_config_toml_points_a_bot_at_the_served_emulator(
    served: Emulator, tmp_path: Path
) -> None:
    key_path = served.add_user("demo-bot").write_private_key(tmp_path / "demo-bot.pem")

    config = tomllib.loads(served.bot_config_toml("demo-bot", key_path))

    assert config == {
        "pod_url": served.https_url,
        "ca_bundle": str(served.ca_bundle),
        "auth": {"username": "demo-bot", "private_key": str(key_path)},
    }
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_config_toml_escapes_awkward_paths() -> None:
    awkward = 'C:\\keys\\"bot"\n.pem'

    config = tomllib.loads(
        emulator_config_toml(pod_url="https://127.0.0.1:8443", username="b", private_key=awkward)
    )

    assert config["auth"]["private_key"] == awkward
    assert "ca_bundle" not in config
