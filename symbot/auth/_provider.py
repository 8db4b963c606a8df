"""What an authentication mechanism must provide: `AuthProvider.login()` returning `Tokens`.

symbot ships two providers (RSA-JWT and client certificate); a user can plug their own,
e.g. one that signs the login JWT with a key held in a vault. `AuthSession` only ever
calls `login(transport)` (one at a time) and `aclose()`; the `Transport` passed in is how a
provider reaches the login endpoints (a provider keeps no reference to it).

The built-in providers are also `EndpointAuthProvider`s: `login_endpoint(role)` logs in to
one endpoint alone (the pod or session auth, or the Key Manager) and says what it answered,
so a diagnosis (`symbot check`) can give each endpoint its own verdict. Their `login()` is
two such logins run concurrently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol, runtime_checkable

import anyio
import httpx
import jwt
from attrs import field, frozen

from symbot.errors import ApiError, AuthenticationError, RateLimitedError
from symbot.transport import Transport, as_object, malformed, read_error_body, read_json

__all__ = [
    "AuthProvider",
    "EndpointAuthProvider",
    "EndpointLogin",
    "LoginRole",
    "Tokens",
    "check_login_response",
    "jwt_expiry",
    "login_both",
    "tokens_from",
]

logger = logging.getLogger("symbot.auth")

LoginRole = Literal["pod", "session_auth", "key_manager"]
"""A login endpoint, named like the client role it is reached through: the pod (RSA) or
session auth (certificate) grants the session token, the Key Manager the KM token."""


@frozen
class Tokens:
    """The tokens a login granted, plus what is known about their lifetime.

    A bot's session and Key Manager tokens are opaque and live as long as the pod's session
    policy says (1 hour to 2 weeks, announced nowhere): `expires_at` is None for them, and
    they are used until a 401. `key_manager_token` is None for sessions that have none: an
    app's, one an app holds on a user's behalf (OBO), an access token. `expires_at` (epoch
    seconds, on our clock) is set only by a login whose token announces its own expiry (an
    access token from `/login/idm/tokens`). `authorization_token` is the short-lived access
    token a login answer may carry (beta on Symphony's side); its `exp` is its own, never
    the session's. `obtained_at` is taken *before* the login request was sent, so an age
    computed from it errs on the safe side.
    """

    session_token: str = field(repr=False)
    key_manager_token: str | None = field(repr=False)
    authorization_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    obtained_at: float = field(factory=time.time)


@runtime_checkable
class AuthProvider(Protocol):
    """Obtains fresh tokens. `login` is never called concurrently by `AuthSession`.

    `login` raises `AuthenticationError` when the credentials are refused (not retried)
    and `ApiError` / `NetworkError` when the servers stay unavailable.
    """

    async def login(self, transport: Transport) -> Tokens: ...

    async def aclose(self) -> None: ...


@frozen(kw_only=True)
class EndpointLogin:
    """What one login endpoint granted.

    `endpoint` is the request as errors name it (`POST https://…/login/pubkey/authenticate`).
    `expires_at` (epoch seconds, the server's clock) is the `exp` of the `authorizationToken`
    when the endpoint returned one: a short-lived access token's expiry, *not* the session's
    (which nothing announces). `current_key_refusal` is set when the current key was refused
    and the previous one (key rotation) was accepted.
    """

    role: LoginRole
    endpoint: str
    token: str = field(repr=False)
    authorization_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    current_key_refusal: AuthenticationError | None = None

    @property
    def used_previous_key(self) -> bool:
        """True when only the previous key was accepted: the new public key is missing."""
        return self.current_key_refusal is not None


@runtime_checkable
class EndpointAuthProvider(AuthProvider, Protocol):
    """An `AuthProvider` that can also log in to one endpoint at a time.

    `login_roles` lists its endpoints, the one granting the session token first.
    `login_endpoint` raises what `login` raises; with a previous key configured it falls
    back to it exactly as `login` does, and says so in the answer.
    """

    username: str
    login_roles: tuple[LoginRole, ...]

    async def login_endpoint(self, transport: Transport, role: LoginRole) -> EndpointLogin: ...


def jwt_expiry(token: str | None) -> float | None:
    """The `exp` claim of an (unverified) JWT, or None when absent or unreadable."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else None


def check_login_response(
    response: httpx.Response, *, role: LoginRole, username: str, hint: str
) -> EndpointLogin:
    """Classify a login endpoint's answer and return what it granted.

    400/401/403 → `AuthenticationError` carrying what the server said (the credentials or
    the account setup are wrong); other errors → `ApiError` (after the retry policy already
    gave up on 5xx/429); a 2xx answer that is not a `Token` object (too deep, `null`, not
    JSON, no token) → `MalformedAnswerError`, which the caller's retry policy treats as a 5xx.
    """
    request = response.request
    endpoint = f"{request.method} {request.url}"
    status = response.status_code
    if status in (400, 401, 403):
        raise AuthenticationError(
            username, endpoint, status, hint, server_message=_server_message(response)
        )
    if status >= 300:
        error_type = RateLimitedError if status == 429 else ApiError
        raise error_type(request.method, str(request.url), status, _server_message(response))
    payload = read_json(response, as_object)
    if not isinstance(payload.get("token"), str) or not payload["token"]:
        raise malformed(
            response,
            "unexpected shape",
            "the login answer has no token; is this URL a Symphony login endpoint?",
        )
    authorization = payload.get("authorizationToken")
    authorization = authorization if isinstance(authorization, str) and authorization else None
    return EndpointLogin(
        role=role,
        endpoint=endpoint,
        token=payload["token"],
        authorization_token=authorization,
        expires_at=jwt_expiry(authorization),
    )


def _server_message(response: httpx.Response) -> str:
    return read_error_body(response).message


def tokens_from(
    session: EndpointLogin, key_manager: EndpointLogin, *, obtained_at: float
) -> Tokens:
    """Build `Tokens` from the pod (or session auth) and KM logins. The authorizationToken's
    `exp` is not carried over: it says nothing about the session."""
    return Tokens(
        session_token=session.token,
        key_manager_token=key_manager.token,
        authorization_token=session.authorization_token,
        obtained_at=obtained_at,
    )


async def login_both(
    session_login: Callable[[], Awaitable[EndpointLogin]],
    key_manager_login: Callable[[], Awaitable[EndpointLogin]],
) -> Tokens:
    """Run the session and Key Manager logins concurrently and combine their tokens.

    If either fails, the other is cancelled and the first failure is raised as itself
    (not wrapped in an exception group), so callers can catch `AuthenticationError`.
    """
    obtained_at = time.time()
    answers: dict[str, EndpointLogin] = {}

    async def run(name: str, call: Callable[[], Awaitable[EndpointLogin]]) -> None:
        answers[name] = await call()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "session", session_login)
            tg.start_soon(run, "key_manager", key_manager_login)
    except BaseExceptionGroup as group:
        raise _first_failure(group) from None
    return tokens_from(answers["session"], answers["key_manager"], obtained_at=obtained_at)


def _first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The most telling leaf: an `AuthenticationError` first, any real error next."""
    leaves: list[BaseException] = []

    def collect(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                collect(inner)
        else:
            leaves.append(exc)

    collect(group)
    for leaf in leaves:
        if isinstance(leaf, AuthenticationError):
            return leaf
    for leaf in leaves:
        if isinstance(leaf, Exception):
            return leaf
    return group
