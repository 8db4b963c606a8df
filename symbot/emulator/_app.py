"""The emulator's ASGI app: one HTTP surface for the pod, Key Manager, session auth and agent.

Every request goes through the same pipeline, in the order a real deployment applies it:
count it, inject a fault if a rule matches (a proxy in front of the service), route it
(404 unknown path, 405 wrong method), check its tokens (401), then run the handler with
`request.username` set.

A client that goes away is noticed as a real server notices it: a handler that waits (the
datafeed's long poll) watches `request.disconnected()` and gives up at once, and an answer
that cannot be written (the server's `send` raises an `OSError`, as ASGI 2.4 specifies, or
is cancelled) is handed back to whoever made it (`Response.on_undelivered`: a datafeed batch
goes back to the front of its queue). In-process, httpx's ASGI transport runs the app in the
caller's task, so a caller that gives up cancels the handler directly.

Which tokens a path needs is decided here, by prefix, so route handlers never look at tokens
(the login routes check the app session an on-behalf-of login presents themselves):

- `/login/`, `/relay/`, `/sessionauth/`, `/keyauth/`, `/agent/v3/health`, `/pod/v1/podcert`:
  none;
- `/pod/...`: a live `sessionToken` of a user: the user's own, or one an app holds on the
  user's behalf (OBO);
- `/agent/...`: a live `sessionToken` and a live `keyManagerToken` of the same user; the
  agent-api specification also lets an OBO `sessionToken` alone create, blast and update
  messages ("the sessionToken which was created for delegated app access").

Every answer carries a `Date` header from the emulator's clock (see `EmulatorClock`).
"""

from __future__ import annotations

import enum
import logging
import re
from collections import Counter, deque
from collections.abc import Sequence

import anyio
import httpx
from attrs import define, field, frozen

from symbot.emulator._asgi import DropConnection, Receive, Scope, Send
from symbot.emulator._clock import EmulatorClock
from symbot.emulator._faults import FaultInjector, InjectedAnswer
from symbot.emulator._feeds import FeedCounters
from symbot.emulator._http import Request, Response, Route, error, match_route, read_request
from symbot.emulator._tokens import TokenKind, TokenStore

__all__ = [
    "REQUEST_LOG_SIZE",
    "Access",
    "Counters",
    "EmulatorApp",
    "InProcessTransport",
    "ReceivedRequest",
    "access_for",
]

logger = logging.getLogger("symbot.emulator")

_PUBLIC_PREFIXES = ("/login/", "/relay/", "/sessionauth/", "/keyauth/")
_PUBLIC_PATHS = frozenset({"/agent/v3/health", "/pod/v1/podcert"})
_DELEGATED_AGENT_PATHS = re.compile(
    r"^/agent/v4/(stream/[^/]+/message/create|message/blast|stream/[^/]+/message/[^/]+/update)$"
)

REQUEST_LOG_SIZE = 10_000
"""How many of the latest requests `EmulatorApp.received` keeps (older ones drop off)."""


class Access(enum.Enum):
    """What a path requires of its caller."""

    PUBLIC = "no token"
    SESSION = "sessionToken"
    AGENT = "sessionToken and keyManagerToken"


def access_for(path: str) -> Access:
    if path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES):
        return Access.PUBLIC
    if path.startswith("/agent/"):
        return Access.AGENT
    return Access.SESSION


@define
class Counters:
    """What the emulator has served, for tests and benchmarks to assert on.

    `logins` and `login_failures` are keyed by endpoint path (e.g.
    "/login/pubkey/authenticate"; on-behalf-of logins by their real path); `unauthorized`
    counts every 401 answered (logins and token checks alike); `requests` counts every
    request received, faulted ones included; `access_tokens` the `/login/idm/tokens` grants.
    The event counters come from the datafeed store.
    """

    feed: FeedCounters = field(factory=FeedCounters)
    logins: Counter[str] = field(factory=Counter)
    login_failures: Counter[str] = field(factory=Counter)
    unauthorized: int = 0
    requests: int = 0
    faults_injected: int = 0
    access_tokens: int = 0

    @property
    def events_delivered(self) -> int:
        return self.feed.events_delivered

    @property
    def events_acked(self) -> int:
        return self.feed.events_acked

    @property
    def events_requeued(self) -> int:
        return self.feed.events_requeued

    @property
    def events_dropped(self) -> int:
        return self.feed.events_dropped


@frozen
class ReceivedRequest:
    """A request as the emulator received it, before faults, routing or authentication.

    `received_at` is `anyio.current_time()` once the request is read, before it is answered:
    the clock of the event loop serving the emulator, on which a client in the same loop
    also sleeps. Gaps between arrivals are the server's evidence that a client waited (a
    429's `Retry-After`, a send pace) rather than its own say-so.
    """

    method: str
    path: str
    received_at: float


@define
class EmulatorApp:
    """The ASGI application. `routes` are matched in order; see the module docstring.

    `received` logs the latest `REQUEST_LOG_SIZE` requests, oldest first, faulted ones
    included.
    """

    routes: Sequence[Route]
    tokens: TokenStore
    faults: FaultInjector
    counters: Counters
    clock: EmulatorClock = field(factory=EmulatorClock)
    received: deque[ReceivedRequest] = field(
        factory=lambda: deque(maxlen=REQUEST_LOG_SIZE), init=False
    )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets in Symphony's REST APIs
        request = await read_request(scope, receive)
        response = await self.handle(request)
        if response.status == 401:
            self.counters.unauthorized += 1
        dated = any(name.lower() == "date" for name, _ in response.headers)  # a fault's own
        date = () if dated else (("date", self.clock.http_date()),)
        try:
            await response.send(send, extra_headers=date)
        except OSError:  # ASGI 2.4: the connection closed before the answer was written
            response.undelivered()
        except BaseException:
            response.undelivered()
            raise

    async def handle(self, request: Request) -> Response | InjectedAnswer:
        """The response to `request` (an `InjectedAnswer` when a fault rule fires); raises
        DropConnection for an injected drop."""
        self.counters.requests += 1
        self.received.append(
            ReceivedRequest(request.method, request.path, received_at=anyio.current_time())
        )
        if self.faults.rules:
            try:
                injected = await self.faults.apply(request.method, request.path)
            except DropConnection:
                self.counters.faults_injected += 1
                raise
            if injected is not None:
                self.counters.faults_injected += 1
                return injected
        found = match_route(self.routes, request.method, request.path)
        if found is None:
            return error(404, f"no such endpoint: {request.path}")
        if found is False:
            return error(405, f"method {request.method} is not allowed on {request.path}")
        assert not isinstance(found, bool)
        route, request.params = found
        refusal = self._authenticate(request)
        if refusal is not None:
            return refusal
        try:
            return await route.handler(request)
        except DropConnection:
            raise
        except Exception:
            logger.exception("emulator handler for %s %s failed", request.method, request.path)
            return error(500, f"internal emulator error on {request.method} {request.path}")

    def _authenticate(self, request: Request) -> Response | None:
        """Set `request.username` from the tokens the path needs, or the 401 to answer."""
        access = access_for(request.path)
        if access is Access.PUBLIC:
            return None
        session = self.tokens.live(request.header("sessionToken"))
        if session is None or session.kind not in (TokenKind.SESSION, TokenKind.OBO_SESSION):
            return error(401, "Invalid session: sessionToken missing, expired or revoked")
        session_user = session.owner
        if session.kind is TokenKind.OBO_SESSION and access is Access.AGENT:
            if not _DELEGATED_AGENT_PATHS.match(request.path):
                return error(
                    401,
                    "an on-behalf-of sessionToken alone is accepted only to create, blast and "
                    "update messages",
                )
        elif access is Access.AGENT:
            km_user = self.tokens.check(request.header("keyManagerToken"), TokenKind.KEY_MANAGER)
            if km_user is None:
                return error(
                    401,
                    "Invalid key manager token (the keyManagerToken header is missing, "
                    "expired or revoked)",
                )
            if km_user != session_user:
                return error(401, "sessionToken and keyManagerToken belong to different users")
        request.username = session_user
        return None


async def _lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown: the emulator's state lives in the Emulator object."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class InProcessTransport(httpx.AsyncBaseTransport):
    """httpx.ASGITransport to the app, except that a dropped connection looks like one:
    DropConnection becomes httpx.RemoteProtocolError, as on a real socket."""

    def __init__(self, app: EmulatorApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except DropConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
