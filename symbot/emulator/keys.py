"""RSA keys of the emulated pod's users: generation, loading, and the current/previous pair.

A real pod stores each service account's `currentKey` and, during a rotation, a
`previousKey` with an expiry date; a login JWT signed by either authenticates. `UserKeys`
is that record. Key generation is here so the emulator can hand a test a ready key pair.
"""

from __future__ import annotations

import os
from pathlib import Path

from attrs import field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["KeyPair", "UserKeys", "generate_rsa_key_pair", "load_rsa_public_key", "write_private"]


@frozen
class KeyPair:
    """A PEM key pair: PKCS#8 private key (unencrypted) and SubjectPublicKeyInfo public key."""

    private_key_pem: bytes = field(repr=False)
    public_key_pem: bytes


def generate_rsa_key_pair(key_size: int = 2048) -> KeyPair:
    """A fresh RSA key pair. Real pods expect 4096 bits; 2048 keeps tests fast."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_key_pem=private_pem, public_key_pem=public_pem)


def load_rsa_public_key(pem: bytes, *, what: str = "public key") -> rsa.RSAPublicKey:
    """Parse an RSA public key PEM; ValueError naming `what` if it is not one."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ValueError(f"{what} is not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{what} is a {type(key).__name__}, but RSA login needs an RSA key")
    return key


@frozen
class UserKeys:
    """A user's registered public keys, as the pod keeps them.

    `previous` authenticates only while `previous_expires_at` (epoch seconds) is in the
    future; a previous key without an expiry never expires.
    """

    current: rsa.RSAPublicKey = field(repr=False)
    previous: rsa.RSAPublicKey | None = field(default=None, repr=False)
    previous_expires_at: float | None = None

    def valid_keys(self, now: float) -> list[rsa.RSAPublicKey]:
        """The keys a login JWT may be signed with at epoch time `now`, current first."""
        keys = [self.current]
        if self.previous is not None and (
            self.previous_expires_at is None or now < self.previous_expires_at
        ):
            keys.append(self.previous)
        return keys


def write_private(path: Path, data: bytes) -> Path:
    """Write secret material to `path`, readable by the owner only (mode 0600) from the start."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_TRUNC
    return path
