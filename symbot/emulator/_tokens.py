"""Session, Key Manager, app and on-behalf-of tokens, and the login JWT check, as a pod does.

Tokens are opaque random strings with a server-side record (owner, kind, expiry, revoked);
the client cannot read their lifetime, exactly as with Symphony. The optional
`authorizationToken` of a login answer and the access tokens of `/login/idm/tokens` are real
JWTs (ES256, signed by a key the emulator holds and publishes at `/login/idm/keys`), each
with its own short lifetime, which says nothing about the session's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Mapping
from enum import Enum
from typing import Any

import jwt
from attrs import define, field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from symbot.emulator._clock import EmulatorClock
from symbot.emulator._keys import UserKeys

__all__ = [
    "MAX_JWT_LIFETIME",
    "IssuedToken",
    "LiveToken",
    "LoginRefused",
    "TokenKind",
    "TokenStore",
    "verify_login_jwt",
]

MAX_JWT_LIFETIME = 300.0
"""A login JWT's `exp` may be at most this many seconds ahead of the server's clock."""

PAST_LEEWAY = 5.0
"""Clock skew tolerated on an expired login JWT (never on the far-future side)."""

ISSUER = "symbot-emulator"


class LoginRefused(Exception):
    """A login that must be answered 401; the message says why (never holds a secret)."""


class TokenKind(Enum):
    """What a token is. A user's own session, an app's session and a session an app holds
    on a user's behalf are all presented as the `sessionToken` header."""

    SESSION = "session"
    KEY_MANAGER = "key manager"
    APP_SESSION = "app session"
    OBO_SESSION = "on-behalf-of session"

    @property
    def header(self) -> str:
        """The header (and the `name` of the login answer) that carries such a token."""
        return "keyManagerToken" if self is TokenKind.KEY_MANAGER else "sessionToken"


ALL_KINDS = frozenset(TokenKind)
SESSION_KINDS = frozenset({TokenKind.SESSION, TokenKind.APP_SESSION, TokenKind.OBO_SESSION})


@define
class _TokenRecord:
    owner: str  # a username, or an app id for an app session
    kind: TokenKind
    expires_at: float
    app_id: str | None = None  # the app acting, for an on-behalf-of session
    revoked: bool = False


@frozen
class LiveToken:
    """Who a live token belongs to: `owner` (a username, or the app id of an app session),
    its kind, and for an on-behalf-of session the app acting for the user."""

    owner: str
    kind: TokenKind
    app_id: str | None = None


@frozen
class IssuedToken:
    """What a login returns: the token, and the authorizationToken when configured."""

    kind: TokenKind
    token: str = field(repr=False)
    authorization_token: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, str]:
        body = {"name": self.kind.header, "token": self.token}
        if self.authorization_token is not None:
            body["authorizationToken"] = self.authorization_token
        return body


@define
class TokenStore:
    """Every token the emulator issued, by value.

    `live` answers who holds a live token (None for one that is unknown, expired or
    revoked); `check` does so for one kind. Several live tokens per owner are normal (each
    login opens a new session); `expire` and `revoke` act on all of them. On-behalf-of and app
    sessions live `session_lifetime`, like a user's.
    """

    session_lifetime: float
    key_manager_lifetime: float
    authorization_lifetime: float | None = None
    access_lifetime: float = 300.0
    clock: Callable[[], float] = field(factory=EmulatorClock)
    _records: dict[str, _TokenRecord] = field(factory=dict, init=False, repr=False)
    _prune_at: int = field(default=1024, init=False, repr=False)
    _signing_key: ec.EllipticCurvePrivateKey = field(
        factory=lambda: ec.generate_private_key(ec.SECP256R1()), init=False, repr=False
    )

    def issue(self, owner: str, kind: TokenKind, *, app_id: str | None = None) -> IssuedToken:
        now = self.clock()
        lifetime = (
            self.key_manager_lifetime if kind is TokenKind.KEY_MANAGER else self.session_lifetime
        )
        if len(self._records) >= self._prune_at:
            self._forget_dead(now)
        token = secrets.token_urlsafe(32)
        self._records[token] = _TokenRecord(owner, kind, now + lifetime, app_id)
        authorization = None
        if kind is TokenKind.SESSION and self.authorization_lifetime is not None:
            authorization = self.access_token(owner, self.authorization_lifetime)
        return IssuedToken(kind, token, authorization)

    def live(self, token: str | None) -> LiveToken | None:
        """Who holds `token`, if it is live."""
        record = self._records.get(token) if token else None
        if record is None or record.revoked or self.clock() >= record.expires_at:
            return None
        return LiveToken(record.owner, record.kind, record.app_id)

    def check(self, token: str | None, kind: TokenKind) -> str | None:
        """The owner of `token` if it is a live token of `kind`, else None."""
        found = self.live(token)
        return found.owner if found is not None and found.kind is kind else None

    def expire(self, owner: str, kinds: Collection[TokenKind] = ALL_KINDS) -> int:
        """Make every live token of `owner` (of `kinds`) expired now; returns how many."""
        now = self.clock()
        live = self._live(owner, kinds, now)
        for record in live:
            record.expires_at = now
        return len(live)

    def revoke(self, owner: str, kinds: Collection[TokenKind] = ALL_KINDS) -> int:
        """Revoke every live token of `owner` (of `kinds`); returns how many."""
        live = self._live(owner, kinds, self.clock())
        for record in live:
            record.revoked = True
        return len(live)

    def access_token(self, username: str, lifetime: float, scope: str | None = None) -> str:
        """A short-lived access JWT for `username` (ES256), as `/login/idm/tokens` grants."""
        now = self.clock()
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": username,
            "iat": int(now),
            "exp": int(now + lifetime),
        }
        if scope:
            claims["scope"] = scope
        return jwt.encode(claims, self._signing_key, algorithm="ES256", headers={"kid": "1"})

    @property
    def authorization_public_key_pem(self) -> bytes:
        """The public key that verifies authorization and access tokens."""
        return self._signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        """The JWKS of `/login/idm/keys`: the key that verifies access tokens."""
        jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(
            self._signing_key.public_key(), as_dict=True
        )
        return {"keys": [{**jwk, "kid": "1", "use": "sig", "alg": "ES256"}]}

    def _live(self, owner: str, kinds: Collection[TokenKind], now: float) -> list[_TokenRecord]:
        return [
            record
            for record in self._records.values()
            if record.owner == owner
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


def verify_login_jwt(
    token: object, keys_of: Mapping[str, UserKeys], now: float, *, subject: str = "user"
) -> str:
    """The subject a login JWT authenticates (a username, or an app id when `keys_of` holds
    apps' keys and `subject` is "app"), or LoginRefused saying why.

    The JWT must be RS512 and name a known subject in `sub`. Its `exp` must be a NumericDate
    (a JSON number, RFC 7519; a string is refused even when it holds digits) no earlier than
    `now - PAST_LEEWAY` and no later than `now + MAX_JWT_LIFETIME` on *this* server's clock
    (Symphony: "between the current time and five minutes from the current time"). It must
    be signed by the subject's current key, or by the previous key while that one has not
    expired.
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
    name = unverified.get("sub")
    if not isinstance(name, str) or name not in keys_of:
        raise LoginRefused(f"invalid {subject}: the token's sub is not a {subject} of this pod")
    exp = unverified.get("exp")
    if exp is None:
        raise LoginRefused("authentication token has no exp (expiration time)")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise LoginRefused(
            "authentication token exp must be a NumericDate: a number of seconds since the "
            f"epoch, not a {type(exp).__name__}"
        )
    if exp > now + MAX_JWT_LIFETIME:
        raise LoginRefused(
            f"authentication token expires more than {MAX_JWT_LIFETIME:.0f} s ahead of the "
            "server's clock"
        )
    if exp < now - PAST_LEEWAY:
        raise LoginRefused("authentication token expired (by the server's clock)")
    unchecked = {"verify_exp": False, "verify_iat": False, "verify_nbf": False}
    for key in keys_of[name].valid_keys(now):
        try:
            jwt.decode(token, key, algorithms=["RS512"], options=unchecked)  # type: ignore[arg-type]
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise LoginRefused(f"invalid authentication token: {type(exc).__name__}") from None
        return name
    raise LoginRefused(f"invalid token signature, or the {subject}'s public key is not imported")
