"""Loading private keys, certificates and PKCS#12 bundles, with errors that say what to fix.

Every error is a `KeyLoadError` naming the file (or "PEM text given in <field>") — never
the key material itself. Sources are a `Path`, a `str` (a path, or PEM text when it
contains a PEM header) or `bytes` (PEM content).

A file is read only if it is a regular file of at most `MAX_KEY_FILE_SIZE` bytes; a file
holding a private key that group or others may read is used, with one WARNING that names
the `chmod 600` to run (platforms that mount secrets often make them 0644, so refusing
would break them).
"""

from __future__ import annotations

import logging
import os
import shlex
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

from symbot.config import Credentials, KeySource, RsaJwtAuth, describe_source, is_pem_text
from symbot.errors import KeyLoadError
from symbot.transport import ClientIdentity

__all__ = ["key_file_warnings", "load_client_identity", "load_private_key"]

logger = logging.getLogger("symbot.auth")

MAX_KEY_FILE_SIZE = 1024 * 1024
"""The largest key, certificate or PKCS#12 file symbot reads (bytes)."""

_PEM_HEADER = "-----BEGIN"


def exposure_warning(name: str, mode: int) -> str | None:
    """What to say about a private key file `name` of `mode` that group or others may
    read, or None when only its owner may (or on a system without POSIX modes)."""
    if os.name != "posix" or not mode & 0o044:
        return None
    return (
        f"the private key file {name} is readable by group or others (mode "
        f"{stat.S_IMODE(mode):03o}): anyone who can read it can log in as the bot; run "
        f"`chmod 600 {shlex.quote(name)}`"
    )


def key_file_warnings(credentials: Credentials) -> list[str]:
    """The `exposure_warning` of each key file `credentials` name (what loading them logs),
    for tools that report rather than log, like `symbot check`."""
    if isinstance(credentials, RsaJwtAuth):
        sources = [credentials.private_key, credentials.previous_private_key]
    else:  # without `key`, the certificate file holds the key
        sources = [credentials.certificate if credentials.key is None else credentials.key]
    warnings = []
    for source in sources:
        if isinstance(source, Path):
            try:
                mode = source.expanduser().stat().st_mode
            except OSError:
                continue
            warning = exposure_warning(str(source), mode)
            if warning is not None:
                warnings.append(warning)
    return warnings


class _Content:
    """What a key source holds: its bytes, its name for messages, and the file's mode."""

    def __init__(self, data: bytes, name: str, mode: int | None = None) -> None:
        self.data = data
        self.name = name
        self.mode = mode

    def warn_if_exposed(self) -> None:
        """One WARNING when this is a file that group or others may read (it holds a key)."""
        warning = None if self.mode is None else exposure_warning(self.name, self.mode)
        if warning is not None:
            logger.warning("%s", warning)


def _read(source: KeySource, field_name: str) -> _Content:
    """The content of `source`, bounded, with its name. Errors are raised outside the
    `except` blocks, so no chained exception repeats the path's content."""
    name = describe_source(source, field_name)
    if isinstance(source, bytes):
        return _Content(source, name)
    if isinstance(source, str) and is_pem_text(source):
        return _Content(source.encode(), name)
    path = Path(source).expanduser()
    problem, fix = "", "check the file's permissions for the user running the bot"
    try:
        # O_NONBLOCK: opening a FIFO must not hang; regular files ignore it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            data = file.read(MAX_KEY_FILE_SIZE + 1) if stat.S_ISREG(mode) else b""
    except FileNotFoundError:
        problem, fix = "file not found", f"check the path in {field_name} (relative to the config)"
    except IsADirectoryError:
        problem, fix = "is a directory, not a file", f"point {field_name} at the file"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or type(exc).__name__})"
    if problem:
        raise KeyLoadError(name, problem, fix)
    if not stat.S_ISREG(mode):
        raise KeyLoadError(name, "is not a regular file", f"point {field_name} at the file")
    if len(data) > MAX_KEY_FILE_SIZE:
        raise KeyLoadError(
            name,
            f"is larger than {MAX_KEY_FILE_SIZE} bytes, too large for a key or certificate",
            f"check the path in {field_name}",
        )
    return _Content(data, name, mode)


def _as_bytes(passphrase: str | bytes | None) -> bytes | None:
    if passphrase is None or passphrase == "" or passphrase == b"":
        return None
    return passphrase.encode() if isinstance(passphrase, str) else passphrase


def _load_pem_key(data: bytes, name: str, passphrase: bytes | None, field_name: str) -> object:
    if _PEM_HEADER.encode() not in data:
        raise KeyLoadError(
            name,
            "is not a PEM file (no '-----BEGIN' line)",
            "give an RSA private key in PEM (PKCS#1 or PKCS#8); convert DER with "
            "`openssl pkey -inform DER -in key.der -out key.pem`",
        )
    if b"PRIVATE KEY-----" not in data:
        raise KeyLoadError(
            name,
            "holds no private key (it may be a public key or a certificate)",
            f"point {field_name} at the private key file",
        )
    encrypted = b"ENCRYPTED" in data
    try:
        return load_pem_private_key(data, password=passphrase)
    except TypeError:
        if passphrase is None:
            raise KeyLoadError(
                name,
                "is encrypted and no passphrase was given",
                "set auth.passphrase, or auth.passphrase_env to the name of an environment "
                "variable holding it",
            ) from None
        raise KeyLoadError(
            name,
            "is not encrypted but a passphrase was given",
            "remove the passphrase from the configuration",
        ) from None
    except ValueError:
        if encrypted and passphrase is not None:
            raise KeyLoadError(
                name, "cannot be decrypted: wrong passphrase", "check the configured passphrase"
            ) from None
        raise KeyLoadError(
            name,
            "is malformed or in an unsupported format",
            "give an RSA private key in PEM, PKCS#1 ('BEGIN RSA PRIVATE KEY') or PKCS#8 "
            "('BEGIN PRIVATE KEY'), optionally encrypted",
        ) from None
    except Exception as exc:  # cryptography raises a few other types for odd input
        raise KeyLoadError(
            name, f"cannot be loaded ({type(exc).__name__})", "check the file's format"
        ) from None


def load_private_key(
    source: KeySource,
    passphrase: str | bytes | None = None,
    *,
    min_bits: int = 2048,
    field_name: str = "auth.private_key",
) -> rsa.RSAPrivateKey:
    """Load an RSA private key (PEM, PKCS#1 or PKCS#8, optionally encrypted).

    Raises `KeyLoadError` for a missing/unreadable file, non-PEM content, a missing or
    wrong passphrase, a non-RSA key, or a key shorter than `min_bits`.
    """
    content = _read(source, field_name)
    name = content.name
    key = _load_pem_key(content.data, name, _as_bytes(passphrase), field_name)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyLoadError(
            name,
            f"is a {type(key).__name__.removeprefix('_')} key, not an RSA key",
            "Symphony's RSA login needs an RSA key: `openssl genrsa -out key.pem 4096`",
        )
    if key.key_size < min_bits:
        raise KeyLoadError(
            name,
            f"is a {key.key_size}-bit RSA key, shorter than the {min_bits} bits required",
            "generate a 4096-bit key (`symbot keygen` or `openssl genrsa -out key.pem 4096`) "
            "and import its public key on the pod",
        )
    content.warn_if_exposed()
    return key


def _load_p12(data: bytes, name: str, password: bytes | None) -> ClientIdentity:
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        fix = (
            "set auth.password (or auth.password_env) to the PKCS#12 password"
            if password is None
            else "check the PKCS#12 password, and that the file is a .p12/.pfx bundle"
        )
        raise KeyLoadError(name, "cannot be opened as PKCS#12", fix) from None
    if key is None or certificate is None:
        raise KeyLoadError(
            name,
            "holds no private key or no certificate",
            "export the bundle with both the certificate and its key",
        )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyLoadError(
            name, "holds a key type TLS clients here do not support", "use RSA or EC"
        )
    return ClientIdentity(certificate, tuple(extra), key)


def load_client_identity(
    certificate: KeySource,
    key: KeySource | None = None,
    password: str | bytes | None = None,
) -> ClientIdentity:
    """Load a client certificate for mutual TLS.

    `certificate` is a PKCS#12 bundle (`.p12`/`.pfx`, or any non-PEM file; `password`
    opens it) or a PEM file with the certificate (and chain); the key comes from `key`, or
    from the certificate file itself when `key` is None. `password` decrypts an encrypted
    PEM key. The key must match the certificate.
    """
    cert = _read(certificate, "auth.certificate")
    cert_data, cert_name = cert.data, cert.name
    secret = _as_bytes(password)
    is_pem = _PEM_HEADER.encode() in cert_data
    p12_name = isinstance(certificate, Path) and certificate.suffix.lower() in (".p12", ".pfx")
    if not is_pem or p12_name:
        identity = _load_p12(cert_data, cert_name, secret)
        cert.warn_if_exposed()
    else:
        try:
            certificates = x509.load_pem_x509_certificates(cert_data)
        except ValueError:
            certificates = []
        if not certificates:
            raise KeyLoadError(
                cert_name,
                "holds no PEM certificate",
                "point auth.certificate at the PEM certificate",
            )
        key_source = cert if key is None else _read(key, "auth.key")
        if key is None and b"PRIVATE KEY-----" not in cert_data:
            raise KeyLoadError(
                cert_name,
                "holds a certificate but no private key",
                "set auth.key to the private key file",
            )
        loaded = _load_pem_key(key_source.data, key_source.name, secret, "auth.key")
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyLoadError(key_source.name, "is not an RSA or EC key", "use an RSA or EC key")
        key_source.warn_if_exposed()
        identity = ClientIdentity(certificates[0], tuple(certificates[1:]), loaded)
    if identity.certificate.public_key() != identity.key.public_key():
        raise KeyLoadError(
            cert_name,
            "the private key does not belong to this certificate",
            "pair the certificate with the key it was issued for",
        )
    return identity
