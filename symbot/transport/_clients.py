"""`Transport`: the HTTP side of one Symphony deployment, one httpx client per role.

Every client it makes has the role's base URL, timeout, proxy and trust (the CA bundle, or
a client certificate for certificate login), the in-process transport when one is given
(the emulator), and a random `X-Trace-Id` per request (logged at DEBUG) for support
correlation. It knows nothing of tokens: the authenticated clients for the pod and the
agent are made with an `httpx.Auth` that `symbot.auth` provides. Leaving `async with`
(or `aclose()`) closes every client it made.
"""

from __future__ import annotations

import logging
import secrets
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from symbot._lifecycle import AsyncResource
from symbot.config import BotConfig, RetryPolicy, Role
from symbot.transport._tls import ClientIdentity, tls_context

__all__ = ["TRACE_HEADER", "Transport", "new_trace_id"]

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


class Transport(AsyncResource):
    """The deployment `config` describes, over HTTP; see the module docstring.

    `transport` replaces the network for every role (the in-process emulator:
    `emu.transport()` with `pod_url=emu.base_url`).
    """

    def __init__(
        self, config: BotConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._transport = transport
        self._verify: ssl.SSLContext | None = None
        self._plain: dict[Role, httpx.AsyncClient] = {}
        self._mutual: dict[tuple[Role, int], tuple[ClientIdentity, httpx.AsyncClient]] = {}
        self._own: list[httpx.AsyncClient] = []

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy every HTTP call follows."""
        return self.config.retry

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
        options: dict[str, Any] = {}
        if self._transport is not None:
            options["transport"] = self._transport
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
