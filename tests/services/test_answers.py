"""What a hostile or broken pod can answer, the services turn into errors that say so: an
answer too large is not read past the cap, one that is not JSON, nested without end, of the
wrong shape or with a field of the wrong type is a "malformed answer" naming the field."""

from __future__ import annotations

import httpx
import pytest

from symbot.config import DEFAULT_MAX_ANSWER_BYTES as MAX_ANSWER_BYTES
from symbot.emulator._keys import KeyPair
from symbot.errors import ApiError, NotFoundError
from symbot.services import Messages, Streams, Users

from .support import FAST_RETRY, hostile_client, json_answer

pytestmark = pytest.mark.anyio


class Endless(httpx.AsyncByteStream):
    """A body that never ends; counts what was read of it."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        while True:
            self.sent += 65536
            yield b"[" * 65536


async def test_an_endless_answer_is_not_read_past_the_cap(keys: KeyPair) -> None:
    body = Endless()
    async with hostile_client(lambda request: httpx.Response(200, stream=body), keys) as client:
        with pytest.raises(ApiError, match=r"malformed answer \(too large\): .* \(33,554,432"):
            await Users(client).get(1)
    attempts = FAST_RETRY.max_attempts  # retried like a 5xx, each attempt cut at the cap
    assert attempts is not None
    assert MAX_ANSWER_BYTES <= body.sent <= attempts * (MAX_ANSWER_BYTES + 2 * 65536)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (httpx.Response(200, content=b"<html>proxy error</html>"), r"\(not JSON\)"),
        (httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000), r"\(too deep\)"),
        (json_answer(200, ["a list"]), "the answer: expected an object, got an array"),
        (json_answer(200, {"users": [{"id": "7"}]}), r"users\[0\].id: expected an integer"),
        (json_answer(200, {"users": [{"username": "x"}]}), r"users\[0\].id: missing"),
        (json_answer(200, {"users": [{"id": 7, "roles": "ADMIN"}]}), r"users\[0\].roles: expected"),
    ],
    ids=["html", "deep", "shape", "type", "missing", "roles"],
)
async def test_malformed_answers_name_the_problem(
    keys: KeyPair, answer: httpx.Response, problem: str
) -> None:
    async with hostile_client(lambda request: answer, keys) as client:
        with pytest.raises(ApiError, match=f"malformed answer.*{problem}") as caught:
            await Users(client).get(7)
    assert caught.value.status == 200


async def test_a_204_where_the_spec_promises_content_is_malformed(keys: KeyPair) -> None:
    async with hostile_client(lambda request: httpx.Response(204), keys) as client:
        with pytest.raises(ApiError, match=r"malformed answer \(unexpected shape\): no content"):
            await Streams(client).create_room("Ops")
        with pytest.raises(NotFoundError, match="no such stream 's1'"):
            await Streams(client).info("s1")  # a lookup: nothing means no such thing


async def test_an_error_answer_keeps_the_servers_words_without_tokens(keys: KeyPair) -> None:
    leak = {"code": 403, "message": "denied for sessionToken: abcdef123456"}
    async with hostile_client(lambda request: json_answer(403, leak), keys) as client:
        with pytest.raises(ApiError) as caught:
            await Streams(client).info("s1")
    assert "abcdef123456" not in str(caught.value)
    assert "denied for sessionToken: ***" in str(caught.value)


async def test_a_message_sent_whose_echo_is_garbage_is_still_sent(keys: KeyPair) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, content=b"not json")

    async with hostile_client(answer, keys) as client:
        assert await Messages(client).send("s1", "hello") is None
    assert calls == ["/agent/v4/stream/s1/message/create"]  # once: never re-sent


async def test_an_attachment_that_is_not_base64_is_malformed(keys: KeyPair) -> None:
    answer = httpx.Response(200, content=b"\x00\x01 binary, not base64")
    async with hostile_client(lambda request: answer, keys) as client:
        with pytest.raises(ApiError, match="not base64-encoded"):
            await Messages(client).download_by_id("s1", "m1", "f1")
