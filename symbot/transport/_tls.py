"""TLS for every role: one builder of client contexts, and what to say when TLS fails.

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
    "tls_context",
    "tls_refusal",
    "tls_refused",
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
        if isinstance(current, ssl.SSLError) and "ALERT" in str(current.reason or "").upper():
            return current
    return None


def tls_refused(reason: object) -> str:
    """What to say of a TLS verdict (see `tls_refusal`), and what to check."""
    return (
        f"TLS refused ({reason}). Check the CA bundle (ca_bundle) and, for certificate login, "
        "the client certificate"
    )
