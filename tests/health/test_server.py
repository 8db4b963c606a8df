"""`HealthServer` on a real socket, against clients that misbehave: it answers GET of its
paths and nothing else, bounds what it reads and how long it waits, caps its connections,
and stops at once whatever its clients do."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from symbot.errors import ConfigError
from symbot.health import MAX_HEAD_BYTES, Answer, HealthServer, json_answer

pytestmark = pytest.mark.anyio

ROUTES = {"/ping": lambda: json_answer(200, '{"pong": true}')}


@asynccontextmanager
async def served(**options: float) -> AsyncIterator[HealthServer]:
    async with HealthServer(ROUTES, port=0, **options) as server:  # type: ignore[arg-type]
        yield server


async def exchange(server: HealthServer, request: bytes) -> bytes:
    """Send `request` raw, read until the server closes the connection."""
    async with await anyio.connect_tcp("127.0.0.1", server.port) as stream:
        await stream.send(request)
        return await read_all(stream)


async def read_all(stream: SocketStream) -> bytes:
    answer = b""
    with anyio.fail_after(10):
        try:
            while True:
                answer += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_get_of_a_path_is_answered_and_the_connection_closed() -> None:
    async with served() as server, httpx.AsyncClient() as client:
        response = await client.get(f"{server.url}/ping?verbose=1")
    assert response.status_code == 200
    assert response.json() == {"pong": True}
    assert response.headers["connection"] == "close"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /ping HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405),
        (b"HEAD /ping HTTP/1.1\r\n\r\n", 405),
        (b"GET /admin HTTP/1.1\r\n\r\n", 404),
        (b"GET http://evil/ping HTTP/1.1\r\n\r\n", 400),
        (b"GET /ping SMTP/1.0\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # a TLS hello
        (b"GET /ping\r\n\r\n", 400),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /ping HTTP/1.1\r\n" + b"X: " + b"y" * MAX_HEAD_BYTES + b"\r\n\r\n", 431),
        (b"GET /ping HTTP/1.1\r\n" + b"X: y\r\n" * 3000 + b"\r\n", 431),
    ],
    ids=["post", "head", "unknown-path", "absolute-form", "not-http", "tls", "no-version",
         "long-target", "long-header", "many-headers"],
)  # fmt: skip
async def test_what_is_not_a_get_of_a_known_path_is_refused(
    request_bytes: bytes, status: int
) -> None:
    async with served() as server:
        answer = await exchange(server, request_bytes)
        assert status_of(answer) == status, answer[:200]
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert set(body) == {"error"}
        if status == 405:
            assert b"\r\nAllow: GET\r\n" in answer
        # one client's refusal never affects the next one
        assert status_of(await exchange(server, b"GET /ping HTTP/1.1\r\n\r\n")) == 200


async def test_a_client_that_never_finishes_its_request_is_dropped_unanswered() -> None:
    async with served(request_timeout=0.2) as server:
        async with await anyio.connect_tcp("127.0.0.1", server.port) as stream:
            await stream.send(b"GET /ping HTTP/1.1\r\nX-Slow: ")  # ... and nothing more
            assert await read_all(stream) == b""
        assert status_of(await exchange(server, b"GET /ping HTTP/1.1\r\n\r\n")) == 200


async def test_connections_beyond_the_cap_are_closed_until_others_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with served(max_connections=2) as server:
        holders = [await anyio.connect_tcp("127.0.0.1", server.port) for _ in range(2)]
        for holder in holders:
            await holder.send(b"GET /ping HTTP/1.1\r\n")  # both pending
        await anyio.sleep(0.05)
        for _ in range(3):
            assert await exchange(server, b"GET /ping HTTP/1.1\r\n\r\n") == b""
        refusals = [r for r in caplog.records if "closing new ones unanswered" in r.message]
        assert len(refusals) == 1  # a flood of connections does not flood the log
        for holder in holders:
            await holder.send(b"\r\n")
            assert status_of(await read_all(holder)) == 200
            await holder.aclose()
        assert status_of(await exchange(server, b"GET /ping HTTP/1.1\r\n\r\n")) == 200


async def test_leaving_the_block_does_not_wait_for_a_connection_in_progress() -> None:
    with anyio.fail_after(5):
        async with served(request_timeout=3600) as server:
            stream = await anyio.connect_tcp("127.0.0.1", server.port)
            await stream.send(b"GET /ping HTTP/1.1\r\n")
            await anyio.sleep(0.05)  # the server is waiting for the rest of the head
    assert await read_all(stream) == b""  # closed with no answer
    await stream.aclose()


async def test_a_route_that_raises_answers_500_without_its_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> Answer:
        raise RuntimeError("sessionToken=abc.def internal detail")

    async with HealthServer({"/x": broken}, port=0) as server:
        answer = await exchange(server, b"GET /x HTTP/1.1\r\n\r\n")
    assert status_of(answer) == 500
    assert b"internal detail" not in answer
    assert "answering /x failed" in caplog.text


async def test_a_port_in_use_is_a_config_error_naming_the_key() -> None:
    async with served() as server:
        with pytest.raises(ConfigError) as refused:
            async with HealthServer(ROUTES, port=server.port):
                pass
    assert refused.value.field == "health.port"
    assert f"port {server.port}" in str(refused.value)
