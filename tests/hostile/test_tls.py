"""TLS failures named as what they are, each with its fix (finding 11: every TLS failure was
worded "certificate verify failed / check the CA bundle", even an expired certificate or a
host-name mismatch).

The server is the emulator's app behind its own TLS listener with a certificate made for each
case (expired, not yet valid, for another host, from a CA the bot does not trust), or one that
demands a client certificate the bot's does not satisfy; and an `https://` URL pointed at the
emulator's plain-HTTP port (issue 14's rough edge). A call through `send_with_retry` must fail
at once (a verdict is not retried) with a `NetworkError` in those words.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from ipaddress import ip_address
from pathlib import Path

import pytest
from attrs import frozen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from symbot.config import BotConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.emulator._server import AsgiServer, server_ssl_context
from symbot.errors import NetworkError
from symbot.transport import ClientIdentity, Transport, send_with_retry

pytestmark = pytest.mark.anyio

HEALTH = "/agent/v3/health"
DAY = dt.timedelta(days=1)
ONCE = RetryPolicy(initial=0.01, maximum=0.01, max_attempts=3)


@frozen
class Authority:
    """A test CA that issues certificates with any dates and names."""

    name: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 10 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(name, key, certificate)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        *,
        hosts: Sequence[str] = ("127.0.0.1", "localhost"),
        starts: dt.timedelta = -DAY,
        ends: dt.timedelta = 10 * DAY,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + starts)
            .not_valid_after(now + ends)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


def _pem(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes]:
    return certificate.public_bytes(serialization.Encoding.PEM), key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@asynccontextmanager
async def tls_server(context: ssl.SSLContext) -> AsyncIterator[str]:
    """The emulator's app behind a TLS listener with `context`; its URL."""
    async with AsgiServer(Emulator().app, ssl_context=context) as server:
        yield server.url


async def failure(
    url: str, trusted: Authority, tmp_path: Path, identity: ClientIdentity | None = None
) -> str:
    """What a call to `url`, trusting `trusted` only, fails with."""
    bundle = tmp_path / "trusted.pem"
    bundle.write_bytes(trusted.pem)
    async with Transport(BotConfig(pod_url=url, ca_bundle=bundle, retry=ONCE)) as transport:
        client = transport.http("pod", identity=identity)
        with pytest.raises(NetworkError) as caught:
            await send_with_retry(ONCE, lambda: client.get(HEALTH))
    message = str(caught.value)
    assert "Fix:" in message
    assert "attempt" not in message  # a verdict: refused at once, never retried
    return message


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create("hostile test CA")


@pytest.mark.parametrize(
    ("starts", "ends", "words"),
    [
        (-10 * DAY, -DAY, "has expired"),
        (DAY, 10 * DAY, "is not yet valid"),
    ],
)
async def test_certificate_dates_are_named(
    ca: Authority, tmp_path: Path, starts: dt.timedelta, ends: dt.timedelta, words: str
) -> None:
    context = server_ssl_context(*_pem(*ca.issue("pod", starts=starts, ends=ends)))
    async with tls_server(context) as url:
        message = await failure(url, ca, tmp_path)
    assert words in message
    assert "clock" in message


@pytest.mark.parametrize(
    ("names", "host"), [(["other.example"], "127.0.0.1"), (["127.0.0.1"], "localhost")]
)
async def test_a_host_name_mismatch_is_named(
    ca: Authority, tmp_path: Path, names: list[str], host: str
) -> None:
    context = server_ssl_context(*_pem(*ca.issue("pod", hosts=names)))
    async with tls_server(context) as url:
        message = await failure(url.replace("127.0.0.1", host), ca, tmp_path)
    assert f"not valid for the host name {host}" in message


async def test_an_unknown_ca_is_named(ca: Authority, tmp_path: Path) -> None:
    stranger = Authority.create("a CA the bot never heard of")
    context = server_ssl_context(*_pem(*stranger.issue("pod")))
    async with tls_server(context) as url:
        message = await failure(url, ca, tmp_path)
    assert "signed by a CA this bot does not trust" in message
    assert "ca_bundle" in message


async def test_a_refused_client_certificate_is_named_from_the_alert(
    ca: Authority, tmp_path: Path
) -> None:
    context = server_ssl_context(*_pem(*ca.issue("pod")), client_ca_pem=ca.pem)
    context.verify_mode = ssl.CERT_REQUIRED
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # the alert comes in the handshake
    stranger = Authority.create("a CA the server never heard of")
    certificate, key = stranger.issue("bot", hosts=())
    async with tls_server(context) as url:
        message = await failure(url, ca, tmp_path, ClientIdentity(certificate, (), key))
    assert "ended the handshake with alert 'unknown ca'" in message
    assert "client certificate" in message


async def test_an_https_url_on_a_plain_http_port_gets_a_hint(tmp_path: Path) -> None:
    async with Emulator() as emu:
        url = emu.http_url.replace("http://", "https://")
        message = await failure(url, Authority.create("any"), tmp_path)
    assert "does not speak TLS" in message
    assert "plain-HTTP port" in message
