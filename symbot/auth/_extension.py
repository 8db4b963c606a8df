"""The backend side of an extension app's circle of trust.

1. The backend authenticates the app with an app token it generated
   (`AppLogin.extension_app_login`); the pod pairs it with a Symphony token, which the
   Symphony client hands to the app's frontend. The backend keeps the pair in a
   `TokenPairStore` (in memory by default, entries expiring with the pair) and
   `pair_is_valid` later checks that a pair the frontend presents is one it obtained.
2. The frontend then sends the user's JWT (from the Symphony client); the backend verifies
   it with the pod's certificate (`GET /pod/v1/podcert`, fetched once and cached by
   `PodCertificate`) and learns who the user is: `verify_user_jwt` → `ExtensionUser`.

Everything the frontend or the pod sends is bounded before use (sizes, types), and a JWT
is refused as `InvalidJwtError` naming why, never quoting it.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import anyio
import jwt
from attrs import field, frozen
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.auth._apps import ExtensionAppTokens
from symbot.auth._clock import ServerClock
from symbot.errors import ApiError, InvalidJwtError
from symbot.transport import Transport

__all__ = [
    "NOT_SIGNED_BY_THE_POD",
    "ExtensionUser",
    "InMemoryTokenPairStore",
    "PodCertificate",
    "TokenPairStore",
    "pair_is_valid",
    "verify_user_jwt",
]

POD_CERTIFICATE_PATH = "/pod/v1/podcert"
MAX_JWT = 16 * 1024
MAX_TOKEN = 4096
MAX_CERTIFICATE_ANSWER = 64 * 1024
LEEWAY = 5.0
"""Seconds of clock skew tolerated on a user JWT's `exp` (on the server's clock)."""
NOT_SIGNED_BY_THE_POD = "not signed by the pod's certificate"
"""The `InvalidJwtError.reason` of a JWT whose signature does not verify."""
REFETCH_AFTER = 60.0
"""A JWT whose signature does not verify makes the certificate be fetched again (the pod
may have rotated it), at most this often (seconds)."""


@frozen(kw_only=True)
class ExtensionUser:
    """The user a client extension's JWT vouches for: its `user` claim. `claims` holds
    every claim of the verified JWT."""

    user_id: int
    username: str
    email: str | None = None
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    claims: Mapping[str, Any] = field(factory=dict, repr=False)


@runtime_checkable
class TokenPairStore(Protocol):
    """Where an app backend keeps the (app token, Symphony token) pairs it obtained. Plug
    in a shared one (Redis, a database) when several backend instances serve the app."""

    async def save(self, tokens: ExtensionAppTokens) -> None: ...

    async def get(self, app_token: str) -> ExtensionAppTokens | None: ...


class InMemoryTokenPairStore:
    """Pairs in this process's memory, each dropped once it expires; at most `max_entries`
    (the oldest is dropped first)."""

    def __init__(
        self, max_entries: int = 10_000, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._max = max_entries
        self._clock = clock
        self._pairs: dict[str, ExtensionAppTokens] = {}

    def __len__(self) -> int:
        return len(self._pairs)

    async def save(self, tokens: ExtensionAppTokens) -> None:
        self._pairs.pop(tokens.app_token, None)
        if len(self._pairs) >= self._max:
            now = self._clock()
            self._pairs = {k: v for k, v in self._pairs.items() if v.expires_at > now}
            while len(self._pairs) >= self._max:
                del self._pairs[next(iter(self._pairs))]
        self._pairs[tokens.app_token] = tokens

    async def get(self, app_token: str) -> ExtensionAppTokens | None:
        found = self._pairs.get(app_token)
        if found is not None and found.expires_at <= self._clock():
            del self._pairs[app_token]
            return None
        return found


async def pair_is_valid(store: TokenPairStore, app_token: object, symphony_token: object) -> bool:
    """True when (`app_token`, `symphony_token`) is a live pair this backend obtained. The
    tokens come from a frontend: anything but two non-empty strings of sane length is
    simply not a valid pair."""
    for token in (app_token, symphony_token):
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN:
            return False
    assert isinstance(app_token, str)
    assert isinstance(symphony_token, str)
    found = await store.get(app_token)
    if found is None or found.expires_at <= time.time():
        return False
    return hmac.compare_digest(found.symphony_token.encode(), symphony_token.encode())


class PodCertificate:
    """The pod's JWT-signing certificate: fetched from `GET /pod/v1/podcert` on first use,
    then cached; fetched again (at most every `REFETCH_AFTER` seconds) when asked to, after
    a signature that did not verify. The answer's `Date` feeds `clock`, on which user JWTs
    are then judged."""

    def __init__(self, clock: ServerClock | None = None) -> None:
        self._clock = clock or ServerClock()
        self._pem: str | None = None
        self._key: rsa.RSAPublicKey | None = None
        self._fetched_at = 0.0
        self._lock = anyio.Lock()

    async def pem(self, transport: Transport) -> str:
        """The certificate (PEM)."""
        await self.public_key(transport)
        assert self._pem is not None
        return self._pem

    async def public_key(self, transport: Transport, *, refetch: bool = False) -> rsa.RSAPublicKey:
        """The certificate's public key; `refetch` asks the pod again unless it was asked
        less than `REFETCH_AFTER` seconds ago."""
        async with self._lock:
            stale = refetch and time.monotonic() - self._fetched_at >= REFETCH_AFTER
            if self._key is None or stale:
                self._pem, self._key = await self._fetch(transport)
                self._fetched_at = time.monotonic()
            return self._key

    async def _fetch(self, transport: Transport) -> tuple[str, rsa.RSAPublicKey]:
        client = transport.http("pod")
        response = await transport.send_with_retry(lambda: client.get(POD_CERTIFICATE_PATH))
        request = response.request
        self._clock.observe(response)

        def refused(problem: str) -> ApiError:
            return ApiError(request.method, str(request.url), response.status_code, problem)

        if response.status_code != 200:
            raise refused("the pod certificate could not be read")
        if len(response.content) > MAX_CERTIFICATE_ANSWER:
            raise refused("the answer is far too large for a certificate")
        try:
            payload = json.loads(response.content)
        except (ValueError, RecursionError):
            payload = None
        pem = payload.get("certificate") if isinstance(payload, dict) else None
        if not isinstance(pem, str):
            raise refused('the answer is not {"certificate": "<PEM>"}')
        try:
            key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        except ValueError:
            raise refused("the certificate is not a PEM X.509 certificate") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise refused("the certificate's key is not RSA (user JWTs are RS512)")
        return pem, key


def verify_user_jwt(
    token: object, key: rsa.RSAPublicKey, *, app_id: str, clock: ServerClock
) -> ExtensionUser:
    """The user `token` vouches for, once verified: RS512, signed by the pod certificate's
    `key`, issued for `app_id` (`aud`), not expired on the pod's clock, with a `user` claim.
    Raises `InvalidJwtError` saying which check failed."""
    if not isinstance(token, str) or not token:
        raise InvalidJwtError("malformed: not a JWT")
    if len(token) > MAX_JWT:
        raise InvalidJwtError(f"malformed: longer than {MAX_JWT} characters")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except (jwt.PyJWTError, RecursionError, ValueError):
        raise InvalidJwtError("malformed: not a JWT") from None
    if algorithm != "RS512":
        raise InvalidJwtError(f"signed with {algorithm!r}; the pod signs user JWTs with RS512")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS512"],
            audience=app_id,
            options={
                "require": ["exp", "aud"],
                "verify_exp": False,  # checked below, on the pod's clock
                "verify_iat": False,
                "verify_nbf": False,
                "verify_sub": False,  # pods may send the user id as a number
            },
        )
    except jwt.InvalidSignatureError:
        raise InvalidJwtError(NOT_SIGNED_BY_THE_POD) from None
    except jwt.InvalidAudienceError:
        raise InvalidJwtError(f"issued for another app, not {app_id!r}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidJwtError(f"it has no {exc.claim!r} claim") from None
    except (jwt.PyJWTError, RecursionError, ValueError) as exc:
        raise InvalidJwtError(f"malformed ({type(exc).__name__})") from None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise InvalidJwtError("its exp is not a NumericDate")
    late = clock.now() - exp
    if late > LEEWAY:
        raise InvalidJwtError(f"expired {late:.0f} s ago (by the pod's clock)")
    return _user_of(claims)


def _user_of(claims: dict[str, Any]) -> ExtensionUser:
    user = claims.get("user")
    if not isinstance(user, dict):
        raise InvalidJwtError("it has no 'user' claim")
    user_id, username = user.get("id"), user.get("username")
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not isinstance(username, str):
        raise InvalidJwtError("its 'user' claim lacks the user's id or username")

    def text(name: str) -> str | None:
        value = user.get(name)
        return value if isinstance(value, str) else None

    return ExtensionUser(
        user_id=user_id,
        username=username,
        email=text("emailAddress"),
        display_name=text("displayName"),
        first_name=text("firstName"),
        last_name=text("lastName"),
        company=text("company"),
        claims=claims,
    )
