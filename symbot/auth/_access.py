"""Short-lived access tokens: `POST /login/idm/tokens` (beta on Symphony's side).

Some APIs (the distribution-list management API) take an OAuth2 access token built from a
session instead of the session token. `AccessTokenLogin` is the `AuthProvider` an
`AuthSession` uses to keep one per scope: its "login" posts the parent session's token to
`/login/idm/tokens` (never a pod + Key Manager re-login), and the `Tokens` it returns carry
the access token and its expiry, read from the JWT's `exp` (or `expires_in`) and brought to
our clock (`ServerClock`), so the session renews it ahead of time, and only when asked for.
A 401 there means the parent session died: it is refreshed once (single-flight, as any 401)
and the request sent again.

Symphony marks these tokens beta ("continue using the returned token"): nothing in symbot
uses them unless you ask, with `await session.access_token(scope=...)`.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

import httpx
import jwt

from symbot.auth._clock import ServerClock
from symbot.auth._provider import Tokens
from symbot.errors import ApiError, redact
from symbot.transport import Transport

__all__ = ["IDM_TOKENS_PATH", "AccessTokenLogin", "TokenSource", "unverified_claims"]

IDM_TOKENS_PATH = "/login/idm/tokens"
MAX_ANSWER = 64 * 1024
"""An access-token answer is a few hundred bytes; anything much larger is not one."""


class TokenSource(Protocol):
    """What a derived login needs of the session it derives from (an `AuthSession`)."""

    async def tokens(self) -> Tokens: ...

    async def refresh(self, stale: Tokens | None = None, *, reason: str = ...) -> Tokens: ...


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (to read `exp`/`iat` a server announced); {} when it
    is not a readable JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, RecursionError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class AccessTokenLogin:
    """Obtains an access token for `scope` from the `parent` session; see the module doc."""

    def __init__(self, parent: TokenSource, scope: str | None, clock: ServerClock) -> None:
        self._parent = parent
        self.scope = scope
        self._clock = clock

    def __repr__(self) -> str:
        return f"AccessTokenLogin(scope={self.scope!r})"

    async def login(self, transport: Transport) -> Tokens:
        obtained_at = time.time()
        parent = await self._parent.tokens()
        response = await self._post(transport, parent)
        if response.status_code == 401:
            await response.aread()
            parent = await self._parent.refresh(
                stale=parent, reason=f"{IDM_TOKENS_PATH} refused the session (401)"
            )
            response = await self._post(transport, parent)
        return self._tokens_from(response, obtained_at)

    async def _post(self, transport: Transport, parent: Tokens) -> httpx.Response:
        client = transport.http("pod")
        params = {"scope": self.scope} if self.scope else None
        headers = {"sessionToken": parent.session_token}
        return await transport.send_with_retry(
            lambda: client.post(IDM_TOKENS_PATH, params=params, headers=headers),
        )

    def _tokens_from(self, response: httpx.Response, obtained_at: float) -> Tokens:
        request = response.request
        body = response.content
        payload: object = None
        if len(body) <= MAX_ANSWER:
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                payload = None
        if response.status_code != 200:
            said = payload.get("message") if isinstance(payload, dict) else None
            message = str(said)[:300] if said is not None else ""
            raise ApiError(request.method, str(request.url), response.status_code, redact(message))
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError(
                request.method,
                str(request.url),
                response.status_code,
                "answered without an access_token; does this pod offer /login/idm/tokens "
                "(SBE 20.14 or later)?",
            )
        assert isinstance(payload, dict)
        self._clock.observe(response)
        claims = unverified_claims(token)
        issued_at = _number(claims.get("iat"))
        if issued_at is not None:
            self._clock.observe_time(issued_at, "the iat of an access token")
        exp = _number(claims.get("exp"))
        lifetime = _number(payload.get("expires_in"))
        if exp is not None:
            expires_at: float | None = self._clock.to_local(exp)
        elif lifetime is not None and lifetime > 0:
            expires_at = obtained_at + lifetime
        else:
            expires_at = None
        return Tokens(
            session_token=token,
            key_manager_token=None,
            expires_at=expires_at,
            obtained_at=obtained_at,
        )

    async def aclose(self) -> None:
        """Nothing to close: the parent session owns what matters."""
