"""RSA keys of the emulated pod's users: generation, loading, and the current/previous pair.

A real pod stores each service account's `currentKey` and, during a rotation, a
`previousKey` with an expiry date; a login JWT signed by either authenticates. `UserKeys`
is that record. Key generation is here so the emulator can hand a test a ready key pair.
"""

from __future__ import annotations

from pathlib import Path

from attrs import field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.auth import KeyPair, generate_key_pair, write_private_key

__all__ = ["KeyPair", "UserKeys", "generate_rsa_key_pair", "load_rsa_public_key", "write_private"]


def generate_rsa_key_pair(key_size: int = 2048) -> KeyPair:
    """A fresh RSA key pair. Real pods expect 4096 bits; 2048 keeps tests fast."""
    return generate_key_pair(key_size)


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
    """Write secret material to `path`, readable by the owner only (mode 0600)."""
    return write_private_key(Path(path), data, overwrite=True)
