"""TLS for every role: one builder of client contexts, and what to say when TLS fails.

`tls_refused` puts each TLS failure in words with its fix: an expired or not yet valid
certificate, a host-name mismatch, an unknown CA, a handshake alert (the server refusing the
client certificate, or nothing in common), an `https://` URL pointed at a plain-HTTP port.

`tls_context(ca_bundle, identity)` is the one place an `ssl.SSLContext` is made for a
client: it trusts `ca_bundle` (or the system's CAs through httpx's defaults) and, for
certificate login, presents a `ClientIdentity`. The ssl module reads client keys only from
files, so the key is written to a private (0600) temporary file *encrypted with a random
one-time password*, loaded, and the file removed at once: unencrypted key material never
touches the disk.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
from attrs import field, frozen
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)
from cryptography.x509.oid import NameOID

from symbot.errors import redact

__all__ = [
    "ClientIdentity",
    "PrivateKey",
    "error_detail",
    "not_tls",
    "tls_context",
    "tls_refusal",
    "tls_refused",
    "tls_verdict",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@frozen
class ClientIdentity:
    """A client certificate, its chain and its private key, ready for mutual TLS."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKey = field(repr=False)

    @property
    def common_name(self) -> str | None:
        names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not names:
            return None
        value = names[0].value
        return value.decode() if isinstance(value, bytes) else value


def tls_context(
    ca_bundle: Path | None = None, identity: ClientIdentity | None = None
) -> ssl.SSLContext:
    """A TLS client context trusting `ca_bundle` (or the default CAs), presenting `identity`
    when given."""
    if ca_bundle is not None:
        context = ssl.create_default_context(cafile=str(ca_bundle))
    else:
        context = httpx.create_ssl_context()
    if identity is not None:
        _load_identity(context, identity)
    return context


def _load_identity(context: ssl.SSLContext, identity: ClientIdentity) -> None:
    one_time = secrets.token_urlsafe(32).encode()
    pem = b"".join(
        [
            identity.certificate.public_bytes(Encoding.PEM),
            *(c.public_bytes(Encoding.PEM) for c in identity.chain),
            identity.key.private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(one_time)
            ),
        ]
    )
    fd, name = tempfile.mkstemp(prefix="symbot-", suffix=".pem")  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        context.load_cert_chain(name, password=one_time)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then the errors behind it (cause, else context), each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def error_detail(exc: BaseException) -> str:
    """`Type: message` for a log line or an error, redacted. When `exc` says nothing itself
    (trio's ReadError wrapping a TLS error, ...), the first error behind it that does."""
    for current in _chain(exc):
        text = redact(str(current))
        if text:
            behind = "" if current is exc else f"{type(current).__name__}: "
            return f"{type(exc).__name__}: {behind}{text}"
    return f"{type(exc).__name__}: no detail"


def tls_refusal(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind `exc` when it is a verdict, not bad luck: the server's certificate
    failed verification, or the peer sent an alert (e.g. it refused our client certificate).
    Such failures are configuration problems and are not retried."""
    for current in _chain(exc):
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        if isinstance(current, ssl.SSLError) and "ALERT" in _reason(current):
            return current
    return None


def not_tls(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind `exc` when the server answered the handshake with something that
    is not TLS at all: most often an `https://` URL pointed at a plain-HTTP port."""
    for current in _chain(exc):
        if isinstance(current, ssl.SSLError) and _reason(current) in _NOT_TLS:
            return current
    return None


def tls_verdict(exc: BaseException) -> ssl.SSLError | None:
    """`tls_refusal(exc)` or `not_tls(exc)`: a TLS failure that trying again cannot fix."""
    return tls_refusal(exc) or not_tls(exc)


_NOT_TLS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL"}
)
_EXPIRED, _NOT_YET_VALID = 10, 9
_NAME_MISMATCH = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
# Unable to get the issuer (locally), self-signed leaf or chain, unable to verify the leaf.
_UNKNOWN_CA = frozenset({2, 18, 19, 20, 21})
_CLIENT_CERTIFICATE_ALERTS = (
    "UNKNOWN_CA",
    "BAD_CERTIFICATE",
    "CERTIFICATE_REQUIRED",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_UNKNOWN",
    "UNSUPPORTED_CERTIFICATE",
    "ACCESS_DENIED",
)
_NOTHING_IN_COMMON_ALERTS = ("HANDSHAKE_FAILURE", "PROTOCOL_VERSION", "INSUFFICIENT_SECURITY")


def _reason(error: ssl.SSLError) -> str:
    return str(error.reason or "").upper()


def tls_refused(error: ssl.SSLError, url: httpx.URL | str | None = None) -> str:
    """What a TLS verdict (`tls_verdict`) means, in words, and its fix. `url` is where the
    connection went (for the host name a certificate did not match)."""
    where = httpx.URL(url) if url is not None else None
    host = where.host if where is not None else "the server"
    if isinstance(error, ssl.SSLCertVerificationError):
        return _verification_words(error, host)
    reason = _reason(error)
    if reason in _NOT_TLS:
        port = f":{where.port}" if where is not None and where.port else ""
        return (
            f"TLS failed: {host}{port} does not speak TLS ({reason.lower()}): is this a "
            "plain-HTTP port? Fix: use the server's HTTPS port in the URL (an http:// URL is "
            "only for an emulator on loopback)"
        )
    alert = f"'{reason.split('ALERT_', 1)[-1].replace('_', ' ').lower()}' ({reason})"
    if any(name in reason for name in _CLIENT_CERTIFICATE_ALERTS):
        return (
            f"TLS refused: {host} ended the handshake with alert {alert}: it does not accept "
            "this bot's client certificate (or wants one and got none). Fix: for certificate "
            "login, use a certificate issued by a CA the server trusts, valid today, whose "
            "common name is the bot's username"
        )
    if any(name in reason for name in _NOTHING_IN_COMMON_ALERTS):
        return (
            f"TLS refused: {host} ended the handshake with alert {alert}: no TLS version or "
            "cipher suite in common. Fix: check the TLS versions the server (or a proxy in "
            "front of it) allows; symbot needs TLS 1.2 or later"
        )
    return (
        f"TLS refused: {host} ended the handshake with alert {alert}. Fix: check the TLS "
        "settings of the server, of any proxy in front of it, and the CA bundle (ca_bundle)"
    )


def _verification_words(error: ssl.SSLCertVerificationError, host: str) -> str:
    code = error.verify_code
    said = str(error.verify_message or error.reason or "verification failed")
    if code == _EXPIRED:
        return (
            f"TLS refused: the certificate of {host} has expired. Fix: its administrators must "
            "renew it; if it looks valid in a browser, check this machine's clock"
        )
    if code == _NOT_YET_VALID:
        return (
            f"TLS refused: the certificate of {host} is not yet valid. Fix: check this "
            "machine's clock and time zone (or the certificate's start date)"
        )
    if code in _NAME_MISMATCH:
        return (
            f"TLS refused: the certificate presented is not valid for the host name {host} "
            f"({said}). Fix: use a host name the certificate names in the URL (pod_url, "
            "agent_url, ...), or have the certificate reissued for this one"
        )
    if code in _UNKNOWN_CA:
        return (
            f"TLS refused: the certificate of {host} is signed by a CA this bot does not trust "
            f"({said}). Fix: set ca_bundle to a PEM CA bundle holding that CA (a "
            "TLS-inspecting proxy's CA too, if one is in between)"
        )
    return (
        f"TLS refused: the certificate of {host} failed verification ({said}). Fix: check "
        "the certificate with its administrators, and the CA bundle (ca_bundle)"
    )
