"""SymphonyClient: one httpx client per role, the auth session, and the retry policy.

- `pod` and `agent` carry the tokens (`session.pod_auth` / `session.auth`): a 401 refreshes
  the tokens once for everybody and replays the call.
- `pod_login`, `key_manager` and `session_auth` carry no tokens; providers log in with them.
- Every request gets a random `X-Trace-Id` (logged at DEBUG) for support correlation.
- `request()` applies the retry policy (5xx/429/network → backoff honouring Retry-After)
  and turns what is still an error into an `ApiError`.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
from types import TracebackType
from typing import Any

import anyio
import httpx
from attrs import frozen

from symbot.auth.provider import AuthProvider
from symbot.auth.session import AuthSession
from symbot.config import BotConfig, Role
from symbot.errors import (
    ApiError,
    ComplianceBlockedError,
    ConfigError,
    MessageRejectedError,
    RateLimitedError,
)
from symbot.retry import send_with_retry

__all__ = ["SessionInfo", "SymphonyClient", "api_error", "new_trace_id"]

logger = logging.getLogger(__name__)

TRACE_HEADER = "X-Trace-Id"


def new_trace_id() -> str:
    return secrets.token_hex(8)


async def _on_request(request: httpx.Request) -> None:
    trace = request.headers.setdefault(TRACE_HEADER, new_trace_id())
    logger.debug("-> %s %s trace=%s", request.method, request.url, trace)


async def _on_response(response: httpx.Response) -> None:
    request = response.request
    logger.debug(
        "<- %s %s %d trace=%s",
        request.method,
        request.url,
        response.status_code,
        request.headers.get(TRACE_HEADER),
    )


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


class SymphonyClient:
    """HTTP access to a Symphony deployment for one bot account.

    `transport` replaces the network for every role (the in-process emulator:
    `emu.transport()` with `pod_url=emu.base_url`). `async with client:` starts the
    background token refresher; leaving it closes every connection.
    """

    def __init__(
        self, config: BotConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.transport = transport
        self._verify: ssl.SSLContext | None = None
        self._own_clients: list[httpx.AsyncClient] = []
        self.pod_login = self.make_http_client("pod")
        self.key_manager = self.make_http_client("key_manager")
        self.session_auth = self.make_http_client("session_auth")
        self._owns_provider = hasattr(config.auth, "bind")
        self.provider: AuthProvider = _provider_from(config.auth, self)
        self.session = AuthSession(
            self.provider,
            max_token_age=config.max_token_age,
            refresh_margin=config.refresh_margin,
            jitter=config.refresh_jitter,
            retry=config.retry,
        )
        self.pod = self.make_http_client("pod", auth=self.session.pod_auth)
        self.agent = self.make_http_client("agent", auth=self.session.auth)
        self._roles: dict[str, httpx.AsyncClient] = {
            "pod": self.pod,
            "agent": self.agent,
            "key_manager": self.key_manager,
            "session_auth": self.session_auth,
        }

    def _default_verify(self) -> ssl.SSLContext:
        if self._verify is None:
            ca_bundle = self.config.ca_bundle
            self._verify = (
                ssl.create_default_context(cafile=str(ca_bundle))
                if ca_bundle is not None
                else httpx.create_ssl_context()
            )
        return self._verify

    def make_http_client(
        self,
        role: Role,
        *,
        auth: httpx.Auth | None = None,
        verify: ssl.SSLContext | None = None,
    ) -> httpx.AsyncClient:
        """An httpx client for `role` with the configured URL, timeout, proxy, CA bundle,
        transport and trace ids. The SymphonyClient closes it on exit."""
        options: dict[str, Any] = {}
        if self.transport is not None:
            options["transport"] = self.transport
        else:
            options["verify"] = verify or self._default_verify()
            options["proxy"] = self.config.proxy_for(role)
        client = httpx.AsyncClient(
            base_url=self.config.url(role),
            auth=auth,
            timeout=self.config.timeouts.for_role(role),
            event_hooks={"request": [_on_request], "response": [_on_response]},
            **options,
        )
        self._own_clients.append(client)
        return client

    def http(self, role: Role) -> httpx.AsyncClient:
        """The client of `role` (pod and agent carry tokens; the others do not)."""
        return self._roles[role]

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
        `symbot.retry.send_with_retry`)."""
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
        data = response.json()
        try:
            return SessionInfo(
                user_id=int(data["id"]),
                username=str(data["username"]),
                display_name=data.get("displayName"),
                email=data.get("emailAddress") or data.get("email"),
            )
        except (KeyError, TypeError, ValueError):
            raise ApiError(
                "GET", str(response.request.url), response.status_code, "unexpected sessioninfo"
            ) from None

    async def __aenter__(self) -> SymphonyClient:
        await self.session.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.__aexit__(exc_type, exc, tb)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close every HTTP client and a provider bound here (even when cancelled)."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            try:
                if self._owns_provider:
                    await self.provider.aclose()
            finally:
                for client in self._own_clients:
                    await client.aclose()


def _provider_from(auth: Any, client: SymphonyClient) -> AuthProvider:
    """`BotConfig.auth` as a live provider: credentials are bound, providers used as is."""
    if hasattr(auth, "bind"):
        provider: AuthProvider = auth.bind(client)
        return provider
    if hasattr(auth, "login") and hasattr(auth, "aclose"):
        return auth  # type: ignore[no-any-return]
    raise ConfigError(
        "auth",
        f"{type(auth).__name__} has neither bind() nor login()/aclose()",
        "use RsaJwtAuth, CertificateAuth or an AuthProvider",
    )
