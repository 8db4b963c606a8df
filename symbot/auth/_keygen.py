"""Key pairs for bot accounts: what `symbot keygen` writes and the emulator-backed demo uses."""

from __future__ import annotations

import os
from pathlib import Path

from attrs import field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.errors import KeyLoadError

__all__ = ["KeyPair", "generate_key_pair", "write_private_key"]


@frozen
class KeyPair:
    """An RSA key pair in PEM: the private key PKCS#8 (unencrypted), the public key
    SubjectPublicKeyInfo."""

    private_key_pem: bytes = field(repr=False)
    public_key_pem: bytes


def generate_key_pair(bits: int = 4096) -> KeyPair:
    """A fresh RSA key pair. 4096 bits is what Symphony recommends for bot accounts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_key_pem=private_pem, public_key_pem=public_pem)


def write_private_key(path: Path, private_pem: bytes, *, overwrite: bool = False) -> Path:
    """Write secret material readable by its owner only (mode 0600 from the first byte;
    an overwritten file is set to 0600 too). Returns `path`."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyLoadError(
            str(path), "already exists", "choose another path or pass --force to overwrite it"
        ) from None
    except OSError as exc:
        raise KeyLoadError(str(path), f"cannot be written ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(private_pem)
    return path
