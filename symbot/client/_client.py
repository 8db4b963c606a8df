"""SymphonyClient: the authenticated client of one bot account.

- `pod` and `agent` carry the tokens (`session.pod_auth` / `session.auth`): a 401 refreshes
  the tokens once for everybody and replays the call.
- `transport.http(role)` gives the clients without tokens; providers log in with them.
- `request()` applies the retry policy (5xx/429/network → backoff honouring Retry-After)
  and turns what is still an error into an `ApiError`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from attrs import frozen

from symbot._lifecycle import AsyncResource
from symbot.auth import AuthProvider, AuthSession, ServerClock, provider_for
from symbot.config import BotConfig, Role
from symbot.errors import (
    ApiError,
    ComplianceBlockedError,
    ConfigError,
    MessageRejectedError,
    RateLimitedError,
)
from symbot.transport import Transport, send_with_retry

__all__ = ["SessionInfo", "SymphonyClient", "api_error", "parse_session_info"]


@frozen
class SessionInfo:
    """The bot's own account, from `GET /pod/v2/sessioninfo`."""

    user_id: int
    username: str
    display_name: str | None = None
    email: str | None = None


def api_error(response: httpx.Response) -> ApiError:
    """The `ApiError` subclass for an error response (400 on message create, 451, 429...)."""
    request = response.request
    message = ""
    code: int | None = None
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        message = response.text[:300]
    else:
        if isinstance(payload, dict):
            message = str(payload.get("message") or "")
            raw_code = payload.get("code")
            code = raw_code if isinstance(raw_code, int) else None
    status = response.status_code
    error_type: type[ApiError] = ApiError
    if status == 429:
        error_type = RateLimitedError
    elif status == 451:
        error_type = ComplianceBlockedError
    elif status == 400 and request.url.path.endswith("/message/create"):
        error_type = MessageRejectedError
    return error_type(request.method, str(request.url), status, message, code)


def parse_session_info(response: httpx.Response) -> SessionInfo:
    """The account a `GET /pod/v2/sessioninfo` answer describes (`ApiError` if it is not
    one)."""
    try:
        data = response.json()
        return SessionInfo(
            user_id=int(data["id"]),
            username=str(data["username"]),
            display_name=data.get("displayName"),
            email=data.get("emailAddress") or data.get("email"),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ApiError(
            "GET", str(response.request.url), response.status_code, "unexpected sessioninfo"
        ) from None


class SymphonyClient(AsyncResource):
    """HTTP access to a Symphony deployment for one bot account.

    `provider` logs in instead of the one `config.auth` describes (a user's own
    `AuthProvider`, or an app's: `symbot.apps`). `transport` replaces the network for every
    role (the in-process emulator: `emu.transport()` with `pod_url=emu.base_url`). `clock`
    is the servers' clock a given `provider` builds its JWTs on (one is made otherwise).
    `async with client:` starts the background token refresher; leaving it closes every
    connection.
    """

    def __init__(
        self,
        config: BotConfig,
        *,
        provider: AuthProvider | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: ServerClock | None = None,
    ) -> None:
        self.config = config
        self.transport = Transport(config, transport=transport)
        self.clock = clock or ServerClock()
        """The servers' clock as measured from their answers (login JWTs are built on it)."""
        if provider is None:
            if config.auth is None:
                raise ConfigError(
                    "auth",
                    "no credentials are configured",
                    "set [auth] in the configuration, or pass provider=... to use your own "
                    "(a configuration with [app] alone is for symbot.apps.App)",
                )
            provider = provider_for(config.auth, clock=self.clock)
            self._owns_provider = True
        else:
            self._owns_provider = False
        self.provider: AuthProvider = provider
        self.session = AuthSession(
            self.provider,
            self.transport,
            max_token_age=config.max_token_age,
            refresh_margin=config.refresh_margin,
            jitter=config.refresh_jitter,
            retry=config.retry,
            clock=self.clock,
            relogin_give_up_after=config.relogin_give_up_after,
            name=None if self._owns_provider else getattr(provider, "username", None),
        )
        self.pod = self.transport.client("pod", auth=self.session.pod_auth)
        self.agent = self.transport.client("agent", auth=self.session.auth)
        self._roles: dict[str, httpx.AsyncClient] = {"pod": self.pod, "agent": self.agent}

    def http(self, role: Role) -> httpx.AsyncClient:
        """The client of `role` (pod and agent carry tokens; the others do not)."""
        return self._roles.get(role) or self.transport.http(role)

    async def request(
        self,
        role: Role,
        method: str,
        path: str,
        *,
        raise_for_status: bool = True,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with the retry policy. Returns the response; unless `raise_for_status` is
        False, an error status still there after retries raises `ApiError` (or a subclass).
        Network failures that outlive the policy raise `TransportError`. Pass
        `idempotent=False` for a request that must not be processed twice (see
        `symbot.transport.send_with_retry`)."""
        client = self.http(role)
        response = await send_with_retry(
            self.config.retry,
            lambda: client.request(method, path, **kwargs),
            idempotent=idempotent,
        )
        if raise_for_status and response.status_code >= 400:
            raise api_error(response)
        return response

    async def session_info(self) -> SessionInfo:
        """The bot's own account (id, username, display name)."""
        response = await self.request("pod", "GET", "/pod/v2/sessioninfo")
        return parse_session_info(response)

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        """The session (and its background refresher) runs while the client is entered;
        leaving closes every connection, even when cancelled."""
        try:
            async with self.session:
                yield
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close every HTTP client and a provider made here (even when cancelled)."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            try:
                if self._owns_provider:
                    await self.provider.aclose()
            finally:
                await self.transport.aclose()
