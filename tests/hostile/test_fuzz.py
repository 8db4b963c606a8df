"""A hypothesis fuzz of every entry point that decodes what a server sent.

Whatever the bytes (random, or JSON of any shape and any depth, nested up to twice Python's
recursion limit), each entry point either returns what it promises or raises the one error it
documents: never `RecursionError`, `MemoryError`, `TypeError`, `KeyError`, a bare
`JSONDecodeError`. Entry points: `parse_json`, `parse_json_at`, `read_json` with every shape
symbot uses, `read_error_body`, `parse_read_body`, `parse_retry_after`,
`check_login_response`, and the `AnswerGuard` (body, status, content encoding, length).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbot.auth._provider import check_login_response
from symbot.client import SessionInfo
from symbot.datafeed import parse_event, parse_read_body
from symbot.datafeed._loop import _feed_ids
from symbot.errors import ApiError, AuthenticationError, EventParseError, MalformedAnswerError
from symbot.transport import (
    MAX_ANSWER_DEPTH,
    AnswerGuard,
    JsonError,
    as_list,
    as_object,
    parse_json,
    parse_json_at,
    parse_retry_after,
    read_error_body,
    read_json,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REQUEST = httpx.Request("POST", "https://pod.example/login/pubkey/authenticate")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=40,
)


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    """JSON (or nearly) nested to any depth, up to twice the recursion limit."""
    depth = draw(st.integers(0, 2000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    core = json.dumps(draw(json_values))
    closed = draw(st.booleans())
    return (opener * depth + core + (closer * depth if closed else "")).encode()


answers = (
    st.binary(max_size=300)
    | json_values.map(lambda value: json.dumps(value).encode())
    | nested()
    | st.sampled_from([b"", b"null", b"[]", b"{}", b'{"token": 1}', b'{"events": null}'])
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@FUZZ
@given(answers)
def test_parse_json(body: bytes) -> None:
    kind: str | None
    try:
        value = parse_json(body)
    except JsonError as exc:
        kind = exc.kind
    else:
        kind = None
        assert _depth(value) <= MAX_ANSWER_DEPTH
    assert kind in (None, "not JSON", "too deep")


@FUZZ
@given(answers, st.integers(0, 50))
def test_parse_json_at(body: bytes, pos: int) -> None:
    text = body.decode("utf-8", errors="replace")
    try:
        value, end = parse_json_at(text, min(pos, len(text)))
    except JsonError:
        return
    assert _depth(value) <= MAX_ANSWER_DEPTH
    assert pos <= end <= len(text) or end <= len(text)


@FUZZ
@given(answers, st.sampled_from([as_object, as_list, SessionInfo.from_json, _feed_ids]))
def test_read_json_with_every_shape_symbot_uses(body: bytes, shape: Any) -> None:
    response = httpx.Response(200, content=body, request=REQUEST)
    failure: MalformedAnswerError | None = None
    try:
        read_json(response, shape)
    except MalformedAnswerError as exc:
        failure = exc
    if failure is not None:
        assert failure.status == 200
        assert "pod.example" in str(failure)


@FUZZ
@given(answers, st.sampled_from([400, 404, 429, 500, 503]))
def test_read_error_body(body: bytes, status: int) -> None:
    said = read_error_body(httpx.Response(status, content=body, request=REQUEST))
    assert len(said.message) <= 300
    assert said.message.isprintable()
    assert said.code is None or type(said.code) is int


@FUZZ
@given(
    answers
    | st.builds(
        lambda head, events, tail: head + events + tail,
        st.sampled_from([b'{"events": [', b'{"events":[{"id":"x"},']),
        answers,
        st.sampled_from([b'], "ackId": "a"}', b'],"ackId":"a\\"b"}', b"]}"]),
    )
)
def test_parse_read_body(body: bytes) -> None:
    try:
        events, ack_id = parse_read_body(body)
    except JsonError:
        return
    assert isinstance(events, list)
    assert isinstance(ack_id, str)
    # A batch's depth is not walked (see symbot.transport.parse_json): its events go to the
    # parser, which never recurses into them and bounds what it hands out as it is.
    for raw in events:
        try:
            event = parse_event(raw)  # type: ignore[arg-type]
        except EventParseError:
            continue
        for part in ("room_properties", "form_values", "parameters"):
            assert _depth(getattr(event, part, {})) <= MAX_ANSWER_DEPTH


@FUZZ
@given(st.text(max_size=80) | st.from_regex(r"[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{1,6} .*"))
def test_parse_retry_after(value: str) -> None:
    seconds = parse_retry_after(value, now=1_700_000_000.0)
    assert seconds is None or 0.0 <= seconds < float("inf")


@FUZZ
@given(answers, st.sampled_from([200, 201, 204, 302, 400, 401, 403, 429, 500]))
def test_check_login_response(body: bytes, status: int) -> None:
    response = httpx.Response(status, content=body, request=REQUEST)
    try:
        granted = check_login_response(response, role="pod", username="bot", hint="the key")
    except (AuthenticationError, ApiError):
        return
    assert isinstance(granted.token, str)
    assert granted.token


@FUZZ
@given(
    body=answers | st.binary(max_size=3000).map(lambda data: data * 40),
    status=st.sampled_from([200, 201, 404, 500]),
    encoding=st.sampled_from(["identity", "gzip", "deflate", "br", "x-gzip", "gzip, br", "é"]),
    pack=st.booleans(),
    announce=st.sampled_from([None, 0, 10, 1000, 10**30]),
)
def test_the_answer_guard(
    body: bytes, status: int, encoding: str, pack: bool, announce: int | None
) -> None:
    limit = 1000
    if pack and encoding in ("gzip", "x-gzip"):
        body = zlib.compress(body, wbits=zlib.MAX_WBITS | 16)
    elif pack and encoding == "deflate":
        body = zlib.compress(body)
    headers = [(b"Content-Encoding", encoding.encode())]  # raw bytes, as on the wire
    if announce is not None:
        headers.append((b"Content-Length", str(announce).encode()))

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    async def fetch() -> None:
        guard = AnswerGuard(httpx.MockTransport(answer), max_bytes=limit)
        async with httpx.AsyncClient(transport=guard) as client:
            refused: int | None
            try:
                response = await client.get("https://agent.example/x")
            except MalformedAnswerError as exc:
                refused = exc.status
            else:
                refused = None
                assert len(response.content) <= limit
        assert refused is None or 200 <= refused < 300  # an error answer is never refused

    anyio.run(fetch)
