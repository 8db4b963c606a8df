"""Loading private keys, certificates and PKCS#12 bundles, with errors that say what to fix.

Every error is a `KeyLoadError` naming the file (or "PEM text given in <field>") — never
the key material itself. Sources are a `Path`, a `str` (a path, or PEM text when it
contains a PEM header) or `bytes` (PEM content).
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

from symbot.config import KeySource, describe_source, is_pem_text
from symbot.errors import KeyLoadError
from symbot.transport import ClientIdentity

__all__ = ["load_client_identity", "load_private_key"]

_PEM_HEADER = "-----BEGIN"


def _read(source: KeySource, field_name: str) -> tuple[bytes, str]:
    """The content of `source` and its name for messages."""
    name = describe_source(source, field_name)
    if isinstance(source, bytes):
        return source, name
    if isinstance(source, str) and is_pem_text(source):
        return source.encode(), name
    path = Path(source).expanduser()
    try:
        return path.read_bytes(), name
    except FileNotFoundError:
        raise KeyLoadError(
            name, "file not found", f"check the path in {field_name} (relative to the config)"
        ) from None
    except IsADirectoryError:
        raise KeyLoadError(
            name, "is a directory, not a file", f"point {field_name} at the file"
        ) from None
    except OSError as exc:
        raise KeyLoadError(
            name,
            f"cannot be read ({exc.strerror or type(exc).__name__})",
            "check the file's permissions for the user running the bot",
        ) from None


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
    data, name = _read(source, field_name)
    key = _load_pem_key(data, name, _as_bytes(passphrase), field_name)
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
    cert_data, cert_name = _read(certificate, "auth.certificate")
    secret = _as_bytes(password)
    is_pem = _PEM_HEADER.encode() in cert_data
    p12_name = isinstance(certificate, Path) and certificate.suffix.lower() in (".p12", ".pfx")
    if not is_pem or p12_name:
        identity = _load_p12(cert_data, cert_name, secret)
    else:
        try:
            certificates = x509.load_pem_x509_certificates(cert_data)
        except ValueError:
            raise KeyLoadError(
                cert_name,
                "holds no PEM certificate",
                "point auth.certificate at the PEM certificate",
            ) from None
        key_data, key_name = (cert_data, cert_name) if key is None else _read(key, "auth.key")
        if key is None and b"PRIVATE KEY-----" not in key_data:
            raise KeyLoadError(
                cert_name,
                "holds a certificate but no private key",
                "set auth.key to the private key file",
            )
        loaded = _load_pem_key(key_data, key_name, secret, "auth.key")
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyLoadError(key_name, "is not an RSA or EC key", "use an RSA or EC key")
        identity = ClientIdentity(certificates[0], tuple(certificates[1:]), loaded)
    if identity.certificate.public_key() != identity.key.public_key():
        raise KeyLoadError(
            cert_name,
            "the private key does not belong to this certificate",
            "pair the certificate with the key it was issued for",
        )
    return identity
