"""Session and Key Manager tokens, and the login JWT check, as a pod and KM do them.

Tokens are opaque random strings with a server-side record (owner, kind, expiry, revoked);
the client cannot read their lifetime, exactly as with Symphony. The optional
`authorizationToken` is a real JWT (ES256, signed by a key the emulator holds) whose `exp`
a client may read unverified to schedule its refresh.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Collection, Mapping
from enum import Enum
from typing import Any

import jwt
from attrs import define, field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from symbot.emulator._keys import UserKeys

__all__ = [
    "MAX_JWT_LIFETIME",
    "IssuedToken",
    "LoginRefused",
    "TokenKind",
    "TokenStore",
    "verify_login_jwt",
]

MAX_JWT_LIFETIME = 300.0
"""A login JWT's `exp` may be at most this many seconds ahead of the server's clock."""

PAST_LEEWAY = 5.0
"""Clock skew tolerated on an expired login JWT (never on the far-future side)."""


class LoginRefused(Exception):
    """A login that must be answered 401; the message says why (never holds a secret)."""


class TokenKind(Enum):
    SESSION = "sessionToken"
    KEY_MANAGER = "keyManagerToken"


ALL_KINDS = frozenset(TokenKind)


@define
class _TokenRecord:
    username: str
    kind: TokenKind
    expires_at: float
    revoked: bool = False


@frozen
class IssuedToken:
    """What a login returns: the token, and the authorizationToken when configured."""

    kind: TokenKind
    token: str = field(repr=False)
    authorization_token: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, str]:
        body = {"name": self.kind.value, "token": self.token}
        if self.authorization_token is not None:
            body["authorizationToken"] = self.authorization_token
        return body


@define
class TokenStore:
    """Every token the emulator issued, by value.

    `check` answers the owner of a live token of the right kind, or None for a token that
    is unknown, of the other kind, expired or revoked. Several live tokens per user are
    normal (each login opens a new session); `expire` and `revoke` act on all of them.
    """

    session_lifetime: float
    key_manager_lifetime: float
    authorization_lifetime: float | None = None
    clock: Callable[[], float] = time.time
    _records: dict[str, _TokenRecord] = field(factory=dict, init=False, repr=False)
    _prune_at: int = field(default=1024, init=False, repr=False)
    _signing_key: ec.EllipticCurvePrivateKey = field(
        factory=lambda: ec.generate_private_key(ec.SECP256R1()), init=False, repr=False
    )

    def issue(self, username: str, kind: TokenKind) -> IssuedToken:
        now = self.clock()
        lifetime = self.session_lifetime if kind is TokenKind.SESSION else self.key_manager_lifetime
        if len(self._records) >= self._prune_at:
            self._forget_dead(now)
        token = secrets.token_urlsafe(32)
        self._records[token] = _TokenRecord(username, kind, now + lifetime)
        authorization = None
        if kind is TokenKind.SESSION and self.authorization_lifetime is not None:
            authorization = self._authorization_token(username, now)
        return IssuedToken(kind, token, authorization)

    def check(self, token: str | None, kind: TokenKind) -> str | None:
        """The owner of `token` if it is a live token of `kind`, else None."""
        record = self._records.get(token) if token else None
        if record is None or record.kind is not kind or record.revoked:
            return None
        if self.clock() >= record.expires_at:
            return None
        return record.username

    def expire(self, username: str, kinds: Collection[TokenKind] = ALL_KINDS) -> int:
        """Make every live token of `username` (of `kinds`) expired now; returns how many."""
        now = self.clock()
        live = self._live(username, kinds, now)
        for record in live:
            record.expires_at = now
        return len(live)

    def revoke(self, username: str, kinds: Collection[TokenKind] = ALL_KINDS) -> int:
        """Revoke every live token of `username` (of `kinds`); returns how many."""
        live = self._live(username, kinds, self.clock())
        for record in live:
            record.revoked = True
        return len(live)

    @property
    def authorization_public_key_pem(self) -> bytes:
        """The public key that verifies authorizationTokens (for tests that want to)."""
        return self._signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def _live(self, username: str, kinds: Collection[TokenKind], now: float) -> list[_TokenRecord]:
        return [
            record
            for record in self._records.values()
            if record.username == username
            and record.kind in kinds
            and not record.revoked
            and now < record.expires_at
        ]

    def _forget_dead(self, now: float) -> None:
        """Drop records of expired or revoked tokens (they would answer 401 either way), so
        long runs with many logins keep a bounded table."""
        self._records = {
            token: record
            for token, record in self._records.items()
            if not record.revoked and now < record.expires_at
        }
        self._prune_at = 2 * len(self._records) + 1024

    def _authorization_token(self, username: str, now: float) -> str:
        assert self.authorization_lifetime is not None
        claims = {
            "iss": "symbot-emulator",
            "sub": username,
            "iat": int(now),
            "exp": int(now + self.authorization_lifetime),
        }
        return jwt.encode(claims, self._signing_key, algorithm="ES256")


def verify_login_jwt(token: object, keys_of: Mapping[str, UserKeys], now: float) -> str:
    """The username a login JWT authenticates, or LoginRefused saying why.

    The JWT must be RS512, name a known user in `sub`, carry `exp` no earlier than
    `now - PAST_LEEWAY` and no later than `now + MAX_JWT_LIFETIME`, and be signed by the
    user's current key or by the previous key while that one has not expired.
    """
    if not isinstance(token, str) or not token:
        raise LoginRefused('the body must be {"token": "<JWT>"}')
    try:
        header = jwt.get_unverified_header(token)
        unverified: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise LoginRefused("malformed authentication token") from None
    if header.get("alg") != "RS512":
        raise LoginRefused(f"authentication token algorithm must be RS512, not {header.get('alg')}")
    username = unverified.get("sub")
    if not isinstance(username, str) or username not in keys_of:
        raise LoginRefused("invalid user: the token's sub is not a user of this pod")
    exp = unverified.get("exp")
    if isinstance(exp, int | float) and exp > now + MAX_JWT_LIFETIME:
        raise LoginRefused(f"authentication token expires more than {MAX_JWT_LIFETIME:.0f} s ahead")
    for key in keys_of[username].valid_keys(now):
        try:
            jwt.decode(
                token,
                key,
                algorithms=["RS512"],
                options={"require": ["exp", "sub"]},
                leeway=PAST_LEEWAY,
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise LoginRefused("authentication token expired") from None
        except jwt.PyJWTError as exc:
            raise LoginRefused(f"invalid authentication token: {type(exc).__name__}") from None
        return username
    raise LoginRefused("invalid token signature, or the user's public key is not imported")
