"""SymphonyClient: the authenticated client of one bot account.

- `pod` and `agent` carry the tokens (`session.pod_auth` / `session.auth`): a 401 refreshes
  the tokens once for everybody and replays the call.
- `transport.http(role)` gives the clients without tokens; providers log in with them.
- `request()` applies the retry policy (5xx/429/network → backoff honouring Retry-After)
  and turns what is still an error into an `ApiError`; `request_json()` also decodes the
  answer (bounded, checked against the shape the caller expects), retrying a malformed
  answer like a 5xx. Services build on these two.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import anyio
import httpx
from attrs import frozen

from symbot._lifecycle import AsyncResource
from symbot.auth import AuthProvider, AuthSession, LoginStats, ServerClock, provider_for
from symbot.config import BotConfig, Role
from symbot.errors import (
    ApiError,
    ComplianceBlockedError,
    ConfigError,
    MessageRejectedError,
    RateLimitedError,
)
from symbot.transport import Transport, TransportStats, as_object, read_error_body, read_json

__all__ = ["SessionInfo", "SymphonyClient", "api_error"]

T = TypeVar("T")


@frozen
class SessionInfo:
    """The bot's own account, from `GET /pod/v2/sessioninfo`."""

    user_id: int
    username: str
    display_name: str | None = None
    email: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> SessionInfo:
        """A `UserV2` answer; `ValueError` when it lacks a numeric `id` or a `username`."""
        user = as_object(data)
        user_id, username = user.get("id"), user.get("username")
        if isinstance(user_id, str) and user_id.isdigit() and len(user_id) < 20:
            user_id = int(user_id)
        if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id < 2**63:
            raise ValueError("sessioninfo has no id that is a user id (a positive int64)")
        if not isinstance(username, str) or not username:
            raise ValueError("sessioninfo has no username")
        display_name = user.get("displayName")
        email = user.get("emailAddress") or user.get("email")
        return cls(
            user_id=user_id,
            username=username,
            display_name=display_name if isinstance(display_name, str) else None,
            email=email if isinstance(email, str) else None,
        )


def api_error(response: httpx.Response) -> ApiError:
    """The `ApiError` subclass for an error response (400 on message create, 451, 429...)."""
    request = response.request
    said = read_error_body(response)
    status = response.status_code
    error_type: type[ApiError] = ApiError
    if status == 429:
        error_type = RateLimitedError
    elif status == 451:
        error_type = ComplianceBlockedError
    elif status == 400 and request.url.path.endswith("/message/create"):
        error_type = MessageRejectedError
    return error_type(request.method, str(request.url), status, said.message, said.code)


class SymphonyClient(AsyncResource):
    """HTTP access to a Symphony deployment for one bot account.

    `provider` logs in instead of the one `config.auth` describes (a user's own
    `AuthProvider`, or an app's: `symbot.apps`). `transport` replaces the network for every
    role (the in-process emulator: `emu.transport()` with `pod_url=emu.base_url`). `clock`
    is the servers' clock a given `provider` builds its JWTs on (one is made otherwise).
    `transport_stats` and `login_stats` are where the transport and the session count (a
    `Bot` keeps its own across servings; new ones by default).
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
        transport_stats: TransportStats | None = None,
        login_stats: LoginStats | None = None,
    ) -> None:
        self.config = config
        self.transport = Transport(config, transport=transport, stats=transport_stats)
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
            stats=login_stats,
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
        Network failures that outlive the policy raise `NetworkError`. Pass
        `idempotent=False` for a request that must not be processed twice (see
        `symbot.transport.send_with_retry`)."""
        client = self.http(role)
        response = await self.transport.send_with_retry(
            lambda: client.request(method, path, **kwargs), idempotent=idempotent
        )
        if raise_for_status and response.status_code >= 400:
            raise api_error(response)
        return response

    @overload
    async def request_json(
        self,
        role: Role,
        method: str,
        path: str,
        *,
        shape: Callable[[Any], T],
        idempotent: bool = ...,
        **kwargs: Any,
    ) -> T: ...

    @overload
    async def request_json(
        self, role: Role, method: str, path: str, *, idempotent: bool = ..., **kwargs: Any
    ) -> dict[str, Any]: ...

    async def request_json(
        self,
        role: Role,
        method: str,
        path: str,
        *,
        shape: Callable[[Any], Any] = as_object,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Send as `request()` does and return the JSON answer passed through `shape`:
        `as_object` (the default: a JSON object, as a dict), `as_list`, or a parser of your
        own that raises `ValueError`, `TypeError` or `KeyError` on what it cannot use.

        A non-2xx answer raises `ApiError` (or a subclass). An answer that cannot be used
        (too large, not JSON, too deep, the wrong shape) is retried like a 5xx, then raises
        `MalformedAnswerError`; for `idempotent=False` it is not retried (the server
        accepted the request: only its answer is bad) and raises at once.

        ```python
        streams = await client.request_json(
            "pod", "POST", "/pod/v1/streams/list", shape=as_list, json={}
        )
        ```
        """
        client = self.http(role)
        decoded: list[Any] = []

        async def attempt() -> httpx.Response:
            response = await client.request(method, path, **kwargs)
            if response.is_success:
                decoded[:] = [read_json(response, shape)]
            return response

        response = await self.transport.send_with_retry(attempt, idempotent=idempotent)
        if not response.is_success:
            raise api_error(response)
        return decoded[0]

    async def session_info(self) -> SessionInfo:
        """The bot's own account (id, username, display name)."""
        info: SessionInfo = await self.request_json(
            "pod", "GET", "/pod/v2/sessioninfo", shape=SessionInfo.from_json
        )
        return info

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
