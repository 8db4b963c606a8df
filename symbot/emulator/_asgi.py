"""The ASGI vocabulary shared by the emulator's app and its server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DropConnection(Exception):
    """Raised by the app to make the server close the connection without answering.

    The loopback server closes the socket; the in-process transport raises
    `httpx.RemoteProtocolError`, which is what a client sees on a real dropped connection.
    """
