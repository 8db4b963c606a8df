"""`HealthServer`: a small HTTP/1.1 server that answers `GET` of a few paths, and nothing else.

It listens on a socket, so it assumes every client is hostile:

- the request line and headers together may take `MAX_HEAD_BYTES` (8 KiB); more is a 431,
  a target longer than `MAX_TARGET_BYTES` a 414, anything that is not an HTTP/1.x request
  line a 400; a body is never read;
- a client has `request_timeout` seconds (5 by default) from connecting to having read the
  whole answer, whatever it sends or fails to read; then the connection is dropped;
- at most `max_connections` connections are served at once; more are closed unanswered;
- only `GET` of the configured paths is answered (a query string is ignored): another
  method gets a 405, another path a 404; every answer closes the connection.

Each route is a plain function that returns an `Answer` without awaiting anything, so an
answer is never stuck behind the bot's own work. `async with HealthServer(routes, port=0)`
binds (a port that cannot be bound is a `ConfigError` naming `health.port`), serves in its
own task group, and leaving the block cancels every connection at once: it never delays
the owner's shutdown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import anyio
from anyio.abc import SocketAttribute, SocketStream
from attrs import frozen

from symbot._lifecycle import AsyncResource
from symbot.errors import ConfigError

__all__ = ["MAX_HEAD_BYTES", "MAX_TARGET_BYTES", "Answer", "HealthServer", "json_answer"]

logger = logging.getLogger("symbot.health")

MAX_HEAD_BYTES = 8192
MAX_TARGET_BYTES = 1024
_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@frozen
class Answer:
    """What a route answers: a status, a content type and the body."""

    status: int
    content_type: str
    body: bytes


def json_answer(status: int, text: str) -> Answer:
    """An answer whose body is JSON text."""
    return Answer(status, "application/json", text.encode())


Route = Callable[[], Answer]


class HealthServer(AsyncResource):
    """Serves `routes` (path → function giving the `Answer`) on `host`:`port`, assuming
    every client is hostile: a request head is bounded (`MAX_HEAD_BYTES`, `MAX_TARGET_BYTES`),
    a client has `request_timeout` seconds in all, at most `max_connections` are served at
    once, only `GET` of the routes is answered, and every answer closes the connection.

    `port=0` picks a free port; `url` says which, once entered. Leaving `async with` cancels
    every connection at once."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_timeout: float = 5.0,
        max_connections: int = 16,
    ) -> None:
        self._routes = dict(routes)
        self.host = host
        self.port = port
        self._timeout = request_timeout
        self._max_connections = max_connections
        self._open = 0
        self._refused = 0  # connections refused since the cap was last reached

    @property
    def url(self) -> str:
        """The base URL it serves (the port is the bound one once entered)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        try:
            listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        except OSError as exc:
            raise ConfigError(
                "health.port",
                f"cannot listen on {self.host} port {self.port}: {exc.strerror or exc}",
                "pick a free port (health.port, --health-port) or another address "
                "(health.host, --health-host)",
            ) from None
        self.port = listener.listeners[0].extra(SocketAttribute.local_port)  # noqa: S610 (anyio)
        async with listener, anyio.create_task_group() as task_group:
            task_group.start_soon(listener.serve, self._connection)
            logger.info("health and metrics on %s (%s)", self.url, ", ".join(self._routes))
            try:
                yield
            finally:
                task_group.cancel_scope.cancel()

    async def _connection(self, stream: SocketStream) -> None:
        try:
            async with stream:
                if self._open >= self._max_connections:
                    self._refuse_one()
                    return
                self._open += 1
                try:
                    with anyio.move_on_after(self._timeout):
                        answer, extra = self._answer(await _read_head(stream))
                        await stream.send(_encode(answer, extra))
                finally:
                    self._open -= 1
                    self._refused = 0  # a slot is free again
        except _GONE:
            pass
        except Exception:  # nothing a client does may end the bot that serves this
            logger.exception("health server: a connection failed")

    def _refuse_one(self) -> None:
        """Close a connection beyond the cap; warn once per run of refusals, so that a
        flood of connections cannot flood the log too."""
        if self._refused == 0:
            logger.warning(
                "health server: %d connections open already; closing new ones unanswered",
                self._open,
            )
        self._refused += 1

    def _answer(self, head: bytes | Answer) -> tuple[Answer, str]:
        """The answer to a request's head (or the refusal of a head that could not be read),
        and any extra header lines."""
        if isinstance(head, Answer):
            return head, ""
        try:
            method, target, version = head.split(b"\r\n", 1)[0].decode("ascii").split(" ")
        except (UnicodeDecodeError, ValueError):
            return _refusal(400, "not an HTTP request line"), ""
        if not version.startswith("HTTP/1.") or not target.startswith("/"):
            return _refusal(400, "not an HTTP/1.x request for a path"), ""
        path = target.split("?", 1)[0]
        if method != "GET":
            return _refusal(405, f"only GET is answered, not {method[:16]}"), "Allow: GET\r\n"
        route = self._routes.get(path)
        if route is None:
            return _refusal(404, f"no such path; try {', '.join(self._routes)}"), ""
        try:
            return route(), ""
        except Exception:
            logger.exception("health server: answering %s failed", path)
            return _refusal(500, "the answer could not be computed; see the bot's log"), ""


async def _read_head(stream: SocketStream) -> bytes | Answer:
    """The request line and headers, up to the blank line; a refusal when they are too long
    (reading stops at the limit)."""
    head = b""
    while (end := head.find(b"\r\n\r\n")) == -1 and len(head) <= MAX_HEAD_BYTES:
        head += await stream.receive(4096)
    line_end = head.find(b"\r\n")
    if line_end == -1 or line_end > MAX_TARGET_BYTES:
        return _refusal(414, f"the request line exceeds {MAX_TARGET_BYTES} bytes")
    if end == -1 or end > MAX_HEAD_BYTES:
        return _refusal(431, f"the request head exceeds {MAX_HEAD_BYTES} bytes")
    return head[:end]


def _refusal(status: int, why: str) -> Answer:
    return json_answer(status, json.dumps({"error": why}) + "\n")


def _encode(answer: Answer, extra_headers: str) -> bytes:
    reason = _REASONS.get(answer.status, "")
    head = (
        f"HTTP/1.1 {answer.status} {reason}\r\n"
        f"Content-Type: {answer.content_type}\r\n"
        f"Content-Length: {len(answer.body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n"
        f"{extra_headers}\r\n"
    )
    return head.encode("ascii") + answer.body
