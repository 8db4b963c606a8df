"""`Transport`: the HTTP side of one Symphony deployment, one httpx client per role.

Every client it makes has the role's base URL, timeout, proxy and trust (the CA bundle, or
a client certificate for certificate login), the in-process transport when one is given
(the emulator), and a random `X-Trace-Id` per request (logged at DEBUG) for support
correlation. Every answer it receives is read through an `AnswerGuard`
(`limits.max_answer_bytes`). It knows nothing of tokens: the authenticated clients for the
pod and the agent are made with an `httpx.Auth` that `symbot.auth` provides. Leaving
`async with` (or `aclose()`) closes every client it made.

The proxy of a role is `proxies.<role>`, else `proxy`, else the environment's
(`HTTPS_PROXY`, `ALL_PROXY`, ... unless `NO_PROXY` names the host), as httpx itself would
choose: the guard wraps the transport, so symbot makes the transport and picks its proxy.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import httpx

from symbot._lifecycle import AsyncResource
from symbot.config import ROLES, BotConfig, RetryPolicy, Role, is_loopback
from symbot.transport._guard import ACCEPT_ENCODING, AnswerGuard
from symbot.transport._retry import send_with_retry
from symbot.transport._stats import TransportStats
from symbot.transport._tls import ClientIdentity, tls_context

__all__ = ["TRACE_HEADER", "Transport", "environment_proxy", "new_trace_id"]

logger = logging.getLogger("symbot.transport")

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


def environment_proxy(url: str) -> str | None:
    """The proxy the environment (or, on macOS and Windows, the system) sets for `url`:
    `HTTPS_PROXY`/`HTTP_PROXY` by scheme, else `ALL_PROXY`; none when `NO_PROXY` names
    the host."""
    proxies = urllib.request.getproxies()
    target = httpx.URL(url)
    host = f"{target.host}:{target.port}" if target.port else target.host
    if urllib.request.proxy_bypass(host):
        return None
    proxy = proxies.get(target.scheme) or proxies.get("all")
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _warn_of_plain_http(config: BotConfig) -> None:
    """One WARNING per role reached over plain HTTP off loopback (`allow_insecure_http`):
    the opt-in is for a trusted test network, and the log should say it is in use."""
    for role in ROLES:
        url = httpx.URL(config.url(role))
        if url.scheme == "http" and not is_loopback(url.host):
            logger.warning(
                "the %s at %s is reached over plain HTTP (allow_insecure_http): the login "
                "JWT and every token cross the network in clear text",
                role.replace("_", " "),
                url,
            )


class Transport(AsyncResource):
    """The deployment `config` describes, over HTTP; see the module docstring.

    `transport` replaces the network for every role (the in-process emulator:
    `emu.transport()` with `pod_url=emu.base_url`). `stats` counts retries and malformed
    answers (a `Bot` passes the one it keeps across servings; a new one by default).
    """

    def __init__(
        self,
        config: BotConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        stats: TransportStats | None = None,
    ) -> None:
        self.config = config
        self._transport = transport
        self.stats = stats if stats is not None else TransportStats()
        self._verify: ssl.SSLContext | None = None
        self._plain: dict[Role, httpx.AsyncClient] = {}
        self._mutual: dict[tuple[Role, int], tuple[ClientIdentity, httpx.AsyncClient]] = {}
        self._own: list[httpx.AsyncClient] = []
        if transport is None:
            _warn_of_plain_http(config)

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy every HTTP call follows."""
        return self.config.retry

    async def send_with_retry(
        self, send: Callable[[], Awaitable[httpx.Response]], *, idempotent: bool = True
    ) -> httpx.Response:
        """`symbot.transport.send_with_retry` with this deployment's retry policy, counted
        in `stats`."""
        return await send_with_retry(self.retry, send, idempotent=idempotent, stats=self.stats)

    def http(self, role: Role, *, identity: ClientIdentity | None = None) -> httpx.AsyncClient:
        """The client of `role` without tokens (for logins), made once; with `identity`, the
        one presenting that client certificate (mutual TLS)."""
        if identity is None:
            client = self._plain.get(role)
            if client is None:
                client = self._plain[role] = self.client(role)
            return client
        key = (role, id(identity))
        known = self._mutual.get(key)
        if known is None or known[0] is not identity:
            known = (
                identity,
                self.client(role, verify=tls_context(self.config.ca_bundle, identity)),
            )
            self._mutual[key] = known
        return known[1]

    def client(
        self,
        role: Role,
        *,
        auth: httpx.Auth | None = None,
        verify: ssl.SSLContext | None = None,
    ) -> httpx.AsyncClient:
        """A new client for `role` (closed with this transport), with `auth` if given."""
        base_url = self.config.url(role)
        inner = self._transport or httpx.AsyncHTTPTransport(
            verify=verify or self._default_verify(),
            proxy=self.config.proxy_for(role) or environment_proxy(base_url),
        )
        client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            timeout=self.config.timeouts.for_role(role),
            headers={"Accept-Encoding": ACCEPT_ENCODING},
            event_hooks={"request": [_on_request], "response": [_on_response]},
            transport=AnswerGuard(inner, max_bytes=self.config.limits.max_answer_bytes),
        )
        self._own.append(client)
        return client

    def _default_verify(self) -> ssl.SSLContext:
        if self._verify is None:
            self._verify = tls_context(self.config.ca_bundle)
        return self._verify

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close every client made here (even when cancelled)."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            clients, self._own = self._own, []
            self._plain.clear()
            self._mutual.clear()
            for client in clients:
                await client.aclose()
