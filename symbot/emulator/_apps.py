"""Applications registered on the emulated pod, and the pod's own JWT signing certificate.

An app (an extension application, or a backend acting on behalf of users) is registered by a
pod administrator with an app id and an RSA public key, exactly like a service account; it
logs in with a JWT whose `sub` is its app id. Whether it may act for a given user (the user
installed it, and it holds the on-behalf-of permission) is a switch per user here, with a
default for everybody.

`PodSigner` is the pod's RSA key pair and self-signed certificate: `GET /pod/v1/podcert`
serves the certificate, and the user JWTs the Symphony client hands to an extension app's
frontend are signed with the key (RS512), so an app backend can check who its user is.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from attrs import define, field, frozen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from symbot.emulator._directory import UserRecord
from symbot.emulator._keys import (
    UserKeys,
    generate_rsa_key_pair,
    load_rsa_public_key,
    write_private,
)

__all__ = ["AppRegistry", "EmulatedApp", "PodSigner"]

USER_JWT_ISSUER = "Symphony Communication Services LLC."


@frozen
class EmulatedApp:
    """An app registered on the emulated pod; `private_key_pem` is set only when the emulator
    generated the key pair."""

    app_id: str
    name: str
    public_key_pem: bytes
    private_key_pem: bytes | None = field(default=None, repr=False)

    def write_private_key(self, path: Path | str) -> Path:
        """Write the generated private key (PKCS#8 PEM) to `path` with mode 0600."""
        if self.private_key_pem is None:
            raise ValueError(
                f"the emulator did not generate app {self.app_id!r}'s key; use your own key file"
            )
        return write_private(Path(path), self.private_key_pem)


@define
class _AppRecord:
    app: EmulatedApp
    keys: UserKeys
    acts_for_all: bool
    overrides: dict[str, bool] = field(factory=dict)
    extension_sessions: dict[str, tuple[str, float]] = field(factory=dict)
    """appToken → (symphonyToken, expireAt) of the extension-app handshakes."""


class AppRegistry:
    """Apps by id, with their keys, whom they may act for, and their extension sessions."""

    def __init__(self) -> None:
        self._apps: dict[str, _AppRecord] = {}
        self._keys: dict[str, UserKeys] = {}

    @property
    def keys(self) -> Mapping[str, UserKeys]:
        """Registered keys by app id (a live view for the app login routes)."""
        return self._keys

    def __contains__(self, app_id: object) -> bool:
        return app_id in self._apps

    def add(
        self,
        app_id: str,
        *,
        name: str | None = None,
        public_key_pem: bytes | None = None,
        key_size: int = 2048,
        acts_for_all_users: bool = True,
    ) -> EmulatedApp:
        """See `Emulator.add_app`."""
        if not app_id or app_id != app_id.strip():
            raise ValueError(f"invalid app id {app_id!r}: use a non-empty id without spaces")
        if app_id in self._apps:
            raise ValueError(f"app {app_id!r} already exists in the emulator; pick another id")
        private_pem = None
        if public_key_pem is None:
            pair = generate_rsa_key_pair(key_size)
            public_key_pem, private_pem = pair.public_key_pem, pair.private_key_pem
        keys = UserKeys(current=load_rsa_public_key(public_key_pem, what=f"{app_id}'s public key"))
        app = EmulatedApp(app_id, name or app_id, public_key_pem, private_pem)
        self._apps[app_id] = _AppRecord(app, keys, acts_for_all_users)
        self._keys[app_id] = keys
        return app

    def get(self, app_id: str) -> EmulatedApp:
        return self._record(app_id).app

    def set_entitlement(self, app_id: str, username: str, entitled: bool) -> None:
        """Let the app act for `username` (the user installed it) or not."""
        self._record(app_id).overrides[username] = entitled

    def may_act_for(self, app_id: str, username: str) -> bool:
        record = self._record(app_id)
        return record.overrides.get(username, record.acts_for_all)

    def open_extension_session(
        self, app_id: str, app_token: str, symphony_token: str, expire_at: float
    ) -> None:
        sessions = self._record(app_id).extension_sessions
        sessions[app_token] = (symphony_token, expire_at)
        if len(sessions) > 10_000:  # a long demo: forget the oldest handshakes
            for stale in list(sessions)[: len(sessions) // 2]:
                del sessions[stale]

    def symphony_token(self, app_id: str, app_token: str) -> str:
        """The Symphony token the pod paired with `app_token` (KeyError if none)."""
        try:
            return self._record(app_id).extension_sessions[app_token][0]
        except KeyError:
            raise KeyError(
                f"app {app_id!r} never authenticated with that app token; call "
                "/login/v1/pubkey/app/authenticate/extensionApp first"
            ) from None

    def _record(self, app_id: str) -> _AppRecord:
        try:
            return self._apps[app_id]
        except KeyError:
            raise KeyError(
                f"no app {app_id!r} in the emulator; add it first with add_app({app_id!r})"
            ) from None


class PodSigner:
    """The pod's JWT signing key and its self-signed certificate, made on first use (RSA
    key generation takes a moment, and most emulators never need it)."""

    def __init__(self, pod_name: str = "symbot emulator pod") -> None:
        self._pod_name = pod_name

    @functools.cached_property
    def _key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(
            generate_rsa_key_pair(2048).private_key_pem, password=None
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @functools.cached_property
    def certificate_pem(self) -> bytes:
        """The certificate `GET /pod/v1/podcert` serves (PEM)."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self._pod_name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(self._key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A JWT with `claims`, signed RS512 with the pod's key."""
        return jwt.encode(dict(claims), self._key, algorithm="RS512")

    def user_jwt(self, user: UserRecord, app_id: str, *, issued_at: float, lifetime: float) -> str:
        """The JWT the Symphony client hands to an extension app's frontend for `user`."""
        return self.sign(
            {
                "iss": USER_JWT_ISSUER,
                "aud": app_id,
                "sub": str(user.user_id),
                "iat": int(issued_at),
                "exp": int(issued_at + lifetime),
                "user": {
                    "id": user.user_id,
                    "username": user.username,
                    "emailAddress": user.email,
                    "firstName": user.first_name,
                    "lastName": user.last_name,
                    "displayName": user.display_name,
                    "company": "symbot emulator",
                },
            }
        )
