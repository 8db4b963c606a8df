"""The emulator's small HTTP vocabulary: requests, responses and routes over ASGI.

Each route handler is `async def handler(request: Request) -> Response`; path parameters are
in `request.params`, and once the app has checked the caller's tokens the authenticated
username is in `request.username`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

import anyio
from attrs import define, field, frozen

from symbot.emulator._asgi import Receive, Scope, Send

__all__ = ["Handler", "Request", "Response", "Route", "error", "match_route", "read_request"]


@define
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes = field(repr=False)
    scope: Scope = field(repr=False)
    params: dict[str, str] = field(factory=dict)
    username: str | None = None
    receive: Receive | None = field(default=None, repr=False, eq=False)

    async def disconnected(self) -> None:
        """Return once the client has gone away (never, if the server cannot tell): a
        handler that waits races its wait against this, as a real server drops the work
        of a closed connection."""
        if self.receive is None:
            await anyio.sleep_forever()
            return
        while (await self.receive())["type"] != "http.disconnect":
            pass

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body as JSON; raises ValueError on a malformed body."""
        return json.loads(self.body) if self.body else None

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@frozen
class Response:
    """An answer. `on_undelivered` is called if it could not be written (the client left
    first): a handler that handed something out with it (a datafeed batch) takes it back."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    on_undelivered: Callable[[], None] | None = field(default=None, eq=False, repr=False)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Response:
        return cls(
            status,
            json.dumps(payload).encode(),
            (("content-type", "application/json"), *headers),
        )

    def undelivered(self) -> None:
        if self.on_undelivered is not None:
            self.on_undelivered()

    async def send(self, send: Send, *, extra_headers: Sequence[tuple[str, str]] = ()) -> None:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in (*self.headers, *extra_headers)
        ]
        headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def error(status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """An error in the shape Symphony uses: `{"code": status, "message": ...}`."""
    return Response.json(status, {"code": status, "message": message}, headers)


Handler = Callable[[Request], Awaitable[Response]]


@frozen
class Route:
    """`path` may hold `{name}` placeholders, each matching one path segment."""

    method: str
    path: str
    handler: Handler
    pattern: re.Pattern[str] = field(init=False)

    @pattern.default
    def _compile(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        return re.compile(f"^{regex}$")


def match_route(
    routes: Sequence[Route], method: str, path: str
) -> tuple[Route, dict[str, str]] | bool | None:
    """The matching route and its params; `False` if the path exists for another method,
    `None` if no route has that path."""
    path_matched = False
    for route in routes:
        found = route.pattern.match(path)
        if found is None:
            continue
        if route.method == method:
            return route, found.groupdict()
        path_matched = True
    return False if path_matched else None


async def read_request(scope: Scope, receive: Receive) -> Request:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    query: Mapping[str, list[str]] = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return Request(
        method=scope["method"],
        path=scope["path"],
        query=dict(query),
        headers=headers,
        body=b"".join(chunks),
        scope=scope,
        receive=receive,
    )
