"""The emulated pod's service accounts: directory entries plus the RSA keys they log in with.

The directory (symbot.emulator.directory) knows who exists; this registry adds what the pod
admin imports for each account: its current public key and, during a rotation, the previous
one with an expiry. The login route reads `keys`, a live mapping by username.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from attrs import evolve, field, frozen

from symbot.emulator._directory import UserDirectory
from symbot.emulator._keys import (
    UserKeys,
    generate_rsa_key_pair,
    load_rsa_public_key,
    write_private,
)

__all__ = ["EmulatedUser", "UserRegistry"]


@frozen
class EmulatedUser:
    """A user of the emulated pod and the key it logs in with.

    `private_key_pem` is set only when the emulator generated the key pair.
    """

    user_id: int
    username: str
    display_name: str
    email: str
    public_key_pem: bytes
    private_key_pem: bytes | None = field(default=None, repr=False)

    def write_private_key(self, path: Path | str) -> Path:
        """Write the generated private key (PKCS#8 PEM) to `path` with mode 0600."""
        if self.private_key_pem is None:
            raise ValueError(
                f"the emulator did not generate {self.username!r}'s key; use your own key file"
            )
        return write_private(Path(path), self.private_key_pem)


def _public_key(public_key_pem: bytes | None, key_size: int) -> tuple[bytes, bytes | None]:
    """(public PEM, private PEM or None): the given key, or a freshly generated pair."""
    if public_key_pem is not None:
        return public_key_pem, None
    pair = generate_rsa_key_pair(key_size)
    return pair.public_key_pem, pair.private_key_pem


class UserRegistry:
    """Users by username, with their registered keys."""

    def __init__(self, directory: UserDirectory) -> None:
        self.directory = directory
        self._keys: dict[str, UserKeys] = {}
        self._users: dict[str, EmulatedUser] = {}

    @property
    def keys(self) -> Mapping[str, UserKeys]:
        """Registered keys by username (a live view for the login route)."""
        return self._keys

    def add(
        self,
        username: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        public_key_pem: bytes | None = None,
        previous_public_key_pem: bytes | None = None,
        previous_key_expires_at: float | None = None,
        key_size: int = 2048,
    ) -> EmulatedUser:
        """See Emulator.add_user. Keys are checked before the user is added, so a bad key
        leaves no half-registered user behind."""
        public_pem, private_pem = _public_key(public_key_pem, key_size)
        keys = UserKeys(
            current=load_rsa_public_key(public_pem, what=f"{username}'s public key"),
            previous=None
            if previous_public_key_pem is None
            else load_rsa_public_key(previous_public_key_pem, what=f"{username}'s previous key"),
            previous_expires_at=previous_key_expires_at,
        )
        record = self.directory.add(username, display_name=display_name, email=email)
        self._keys[username] = keys
        user = EmulatedUser(
            user_id=record.user_id,
            username=username,
            display_name=record.display_name,
            email=record.email,
            public_key_pem=public_pem,
            private_key_pem=private_pem,
        )
        self._users[username] = user
        return user

    def rotate_key(
        self,
        username: str,
        *,
        public_key_pem: bytes | None = None,
        previous_key_lifetime: float | None = 3600.0,
        key_size: int = 2048,
    ) -> EmulatedUser:
        """See Emulator.rotate_key."""
        old = self.get(username)
        public_pem, private_pem = _public_key(public_key_pem, key_size)
        self._keys[username] = UserKeys(
            current=load_rsa_public_key(public_pem, what=f"{username}'s public key"),
            previous=self._keys[username].current,
            previous_expires_at=None
            if previous_key_lifetime is None
            else time.time() + previous_key_lifetime,
        )
        user = evolve(old, public_key_pem=public_pem, private_key_pem=private_pem)
        self._users[username] = user
        return user

    def get(self, username: str) -> EmulatedUser:
        """The user named `username`; KeyError saying how to add it if unknown."""
        try:
            return self._users[username]
        except KeyError:
            raise KeyError(
                f"no user {username!r} in the emulator; add it first with add_user({username!r})"
            ) from None
