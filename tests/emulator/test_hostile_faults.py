"""The emulator as a hostile server: fault rules that answer any body, content type, raw
headers, a truncated body or chunked framing, in-process and on real sockets."""

from __future__ import annotations

import zlib

import httpx
import pytest

from symbot.emulator import Body, Emulator

from .support import HEALTH

pytestmark = pytest.mark.anyio

MIB = 1 << 20


def test_a_generated_body_is_made_in_chunks_of_bounded_size() -> None:
    body = Body(prefix=b"<", repeat=b"ab", times=3 * MIB, suffix=b">")
    chunks = list(body.chunks())
    assert body.size == 6 * MIB + 2
    assert sum(map(len, chunks)) == body.size
    assert max(map(len, chunks)) <= 64 * 1024
    assert b"".join(chunks[:2]).startswith(b"<abab")
    assert chunks[-1] == b">"
    assert b"".join(body.chunks(5)) == b"<abab"


async def test_a_body_fault_answers_200_json_by_default(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, body=b"null")
    response = await http.get(HEALTH)
    assert response.status_code == 200
    assert response.content == b"null"
    assert response.headers["content-type"] == "application/json"
    assert emu.counters.faults_injected == 1


async def test_a_body_fault_can_carry_any_status_content_type_and_raw_headers(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(
        HEALTH,
        status=503,
        body="<html>down</html>",
        content_type="text/html",
        headers=[("Retry-After", "inf"), ("Date", "Mon, 01 Jan 1990 00:00:00 GMT")],
    )
    response = await http.get(HEALTH)
    assert (response.status_code, response.text) == (503, "<html>down</html>")
    assert response.headers["content-type"] == "text/html"
    assert response.headers["retry-after"] == "inf"
    assert response.headers["date"] == "Mon, 01 Jan 1990 00:00:00 GMT"


async def test_an_empty_content_type_sends_none(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.fault(HEALTH, body=b"", content_type="")
    response = await http.get(HEALTH)
    assert "content-type" not in response.headers


@pytest.mark.parametrize(("given", "sent"), [(1e9, "1000000000"), (0.25, "0.25"), ("-1", "-1")])
async def test_retry_after_is_sent_as_plain_decimal_or_as_given(
    emu: Emulator, http: httpx.AsyncClient, given: float | str, sent: str
) -> None:
    emu.fault(HEALTH, status=429, retry_after=given)
    assert (await http.get(HEALTH)).headers["retry-after"] == sent


async def test_a_truncated_body_in_process_looks_like_a_dropped_connection(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, body=b'{"status": "UP"}', truncate=5)
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(HEALTH)
    assert (await http.get(HEALTH)).status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"body": b"x", "drop": True},
        {"body": b"abc", "truncate": 3},
        {"body": b"abc", "truncate": -1},
        {"headers": [("Retry-After", "1")], "delay": 1.0},
        {"truncate": 1, "drop": True},
    ],
)
def test_a_hostile_fault_that_makes_no_sense_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        Emulator().fault(HEALTH, **kwargs)  # type: ignore[arg-type]


async def test_served_faults_announce_then_cut_or_stream_unannounced() -> None:
    big = Body(repeat=b"x", times=3 * MIB)
    async with Emulator() as emu, httpx.AsyncClient(base_url=emu.http_url) as http:
        emu.fault(HEALTH, body=big, truncate=MIB)
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(HEALTH)

        emu.fault(HEALTH, body=big, chunked=True)
        async with http.stream("GET", HEALTH) as response:
            assert "content-length" not in response.headers
            assert response.headers["transfer-encoding"] == "chunked"
            assert sum([len(chunk) async for chunk in response.aiter_raw()]) == big.size

        gzipped = zlib.compress(b"[1]", wbits=zlib.MAX_WBITS | 16)
        emu.fault(HEALTH, body=gzipped, headers=[("Content-Encoding", "gzip")])
        assert (await http.get(HEALTH)).json() == [1]
        assert (await http.get(HEALTH)).json()["status"] == "UP"
