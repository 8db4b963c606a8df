"""Shared fixtures. Every `@pytest.mark.anyio` test runs on asyncio and on trio.

Child processes (`python -m symbot.cli ...`, bot scripts) import the very symbot the tests
import: its source root goes first on their PYTHONPATH, so plain `pytest` works in a clone
where symbot is not installed (pyproject's `pythonpath` does the same for this process).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import symbot
from symbot.emulator._agent_routes import agent_routes
from symbot.emulator._asgi import Receive, Scope, Send
from symbot.emulator._feeds import FeedStore
from symbot.emulator._http import error, match_route, read_request
from symbot.emulator._streams import StreamStore

SOURCE_ROOT = str(Path(symbot.__file__).resolve().parent.parent)


def pytest_configure(config: pytest.Config) -> None:
    inherited = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([SOURCE_ROOT, *([inherited] if inherited else [])])


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def agent_client() -> Callable[[FeedStore, StreamStore, str], httpx.AsyncClient]:
    """Factory of in-process httpx clients for the agent routes alone, acting as `user`.

    A minimal app stands in for the emulator's: the `x-test-user` header replaces token
    checks, so the agent semantics can be tested without the auth stack.
    """

    def make(feeds: FeedStore, streams: StreamStore, user: str) -> httpx.AsyncClient:
        routes = agent_routes(feeds, streams)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            request = await read_request(scope, receive)
            found = match_route(routes, request.method, request.path)
            if not isinstance(found, tuple):
                await error(404 if found is None else 405, "no such route").send(send)
                return
            route, request.params = found
            request.username = request.header("x-test-user")
            await (await route.handler(request)).send(send)

        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://agent.test",
            headers={"x-test-user": user},
        )

    return make
