"""The one reader of answers, piece by piece: the guard's size limit and decompression, the
reader of error bodies, `request_json`'s shapes and retries, and the proxy a client takes.

Against the in-process emulator (its fault rules answer what each case needs), through the
same `Transport` and `SymphonyClient` a bot uses.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from symbot.client import SymphonyClient
from symbot.config import BotConfig, Limits, RetryPolicy
from symbot.emulator import Body, Emulator
from symbot.errors import ApiError, MalformedAnswerError
from symbot.testing import in_process_config
from symbot.transport import (
    ACCEPT_ENCODING,
    ERROR_BODY_BYTES,
    Transport,
    as_list,
    read_error_body,
)
from symbot.transport._clients import environment_proxy

HEALTH = "/agent/v3/health"
FEEDS = "/agent/v5/datafeeds"
LIMIT = 65_536
RETRY = RetryPolicy(initial=0.001, maximum=0.01, max_attempts=3)


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """The pod client a bot's `Transport` makes (no tokens), on the in-process emulator."""
    config = BotConfig(pod_url=emu.base_url, limits=Limits(max_answer_bytes=LIMIT))
    async with Transport(config, transport=emu.transport()) as transport:
        yield transport.http("pod")


def _gzip(data: bytes) -> bytes:
    return zlib.compress(data, wbits=zlib.MAX_WBITS | 16)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


# --- the guard --------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_limit_is_refused(
    emu: Emulator, http: httpx.AsyncClient, chunked: bool
) -> None:
    emu.fault(HEALTH, body=Body(repeat=b" ", times=LIMIT + 1), chunked=chunked)
    with pytest.raises(MalformedAnswerError) as caught:
        await http.get(HEALTH)
    assert caught.value.kind == "too large"
    assert caught.value.status == 200
    assert "limits.max_answer_bytes" in str(caught.value)
    emu.fault(HEALTH, body=Body(repeat=b" ", times=LIMIT))
    assert len((await http.get(HEALTH)).content) == LIMIT  # the limit itself is allowed


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("encoding", "packed"),
    [
        ("gzip", _gzip(b'{"status": "UP"}')),
        ("deflate", zlib.compress(b'{"status": "UP"}')),
        ("deflate", _raw_deflate(b'{"status": "UP"}')),
        ("identity", b'{"status": "UP"}'),
    ],
)
async def test_compressed_answers_are_decoded_by_the_guard(
    emu: Emulator, http: httpx.AsyncClient, encoding: str, packed: bytes
) -> None:
    emu.fault(HEALTH, body=packed, headers=[("Content-Encoding", encoding)])
    response = await http.get(HEALTH)
    assert response.json() == {"status": "UP"}
    assert "content-encoding" not in response.headers


@pytest.mark.anyio
async def test_a_compressed_answer_that_inflates_past_the_limit_is_refused(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, body=_gzip(bytes(100 * LIMIT)), headers=[("Content-Encoding", "gzip")])
    with pytest.raises(MalformedAnswerError, match="too large"):
        await http.get(HEALTH)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "body", "kind"),
    [
        ([("Content-Encoding", "br")], b"\x1b\x00", "undecodable"),
        ([("Content-Encoding", "gzip")], b"not gzip at all", "undecodable"),
        ([("Content-Encoding", "gzip")], _gzip(b"[1, 2, 3]")[:-9], "truncated"),
    ],
)
async def test_bodies_that_cannot_be_decoded_are_malformed(
    emu: Emulator, http: httpx.AsyncClient, headers: list[tuple[str, str]], body: bytes, kind: str
) -> None:
    emu.fault(HEALTH, body=body, headers=headers)
    with pytest.raises(MalformedAnswerError) as caught:
        await http.get(HEALTH)
    assert caught.value.kind == kind


@pytest.mark.anyio
async def test_an_error_answer_is_cut_to_its_first_bytes_never_refused(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=502, body=Body(repeat=b"<p>", times=LIMIT), content_type="text/html")
    response = await http.get(HEALTH)
    assert response.status_code == 502
    assert len(response.content) == min(LIMIT, ERROR_BODY_BYTES)
    emu.fault(HEALTH, status=502, body=b"\x1b\x00", headers=[("Content-Encoding", "br")])
    assert (await http.get(HEALTH)).content == b""


@pytest.mark.anyio
async def test_clients_ask_only_for_encodings_the_guard_decodes() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        return httpx.Response(200, json={})

    config = BotConfig(pod_url="https://pod.example")
    async with Transport(config, transport=httpx.MockTransport(answer)) as transport:
        await transport.http("pod").get(HEALTH)
    assert seen == [ACCEPT_ENCODING]


def test_the_limit_is_a_config_key_with_a_floor(tmp_path: Path) -> None:
    (tmp_path / "bot.pem").write_text("a key")
    (tmp_path / "symbot.toml").write_text(
        'pod_url = "https://pod.example"\n[auth]\nusername = "bot"\nprivate_key = "bot.pem"\n'
        "[limits]\nmax_answer_bytes = 1048576\n"
    )
    env = {"SYMBOT_RETRY_MAX_RETRY_AFTER": "90"}
    config = BotConfig.from_file(tmp_path / "symbot.toml", env=env)
    assert config.limits.max_answer_bytes == 1 << 20
    assert config.retry.retry_after_cap == 90.0
    with pytest.raises(Exception, match=r"limits\.max_answer_bytes"):
        Limits(max_answer_bytes=10)


# --- error bodies -----------------------------------------------------------------------


def _error(body: bytes, status: int = 500) -> httpx.Response:
    return httpx.Response(status, content=body, request=httpx.Request("GET", "https://pod/x"))


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (b'{"code": 4031, "message": "too many feeds"}', "too many feeds", 4031),
        (b'{"code": true, "message": 7}', "", None),
        (b"[1, 2]", "", None),
        (b"<html><head><title>502 Bad Gateway</title></head></html>", "502 Bad Gateway", None),
        (
            b'{"message": "line one\\nFORGED: line two\\u001b[31m"}',
            "line one FORGED: line two [31m",
            None,
        ),
        (b"\xff\xfe garbage", "\ufffd\ufffd garbage", None),
        (b'{"message": "refused sessionToken: abc123"}', "refused sessionToken: ***", None),
    ],
)
def test_the_one_error_body_reader(body: bytes, message: str, code: int | None) -> None:
    said = read_error_body(_error(body))
    assert (said.message, said.code) == (message, code)


def test_an_error_message_is_short_and_never_ends_in_part_of_a_secret() -> None:
    jwt = "eyJhbGciOiJSUzUxMiJ9." + "eyJzdWIiOiJib3QifQ" * 40 + ".c2lnbmF0dXJl"
    said = read_error_body(_error(b'{"message": "' + b"x" * 250 + b" " + jwt.encode() + b'"}'))
    assert len(said.message) <= 300
    assert "eyJ" not in said.message


# --- request_json ---------------------------------------------------------------------


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[SymphonyClient]:
    config = in_process_config(emu, "bot", retry=RETRY)
    async with SymphonyClient(config, transport=emu.transport()) as opened:
        yield opened


@pytest.mark.anyio
async def test_request_json_checks_the_shape_and_retries_a_bad_one(
    emu: Emulator, client: SymphonyClient
) -> None:
    assert await client.request_json("agent", "GET", FEEDS, shape=as_list) == []
    emu.fault(FEEDS, method="GET", count=2, body=b"null")
    assert await client.request_json("agent", "GET", FEEDS, shape=as_list) == []
    assert emu.counters.faults_injected == 2
    emu.fault(FEEDS, method="GET", count=10, body=b"{}")
    with pytest.raises(MalformedAnswerError, match="expected a JSON array, got an object"):
        await client.request_json("agent", "GET", FEEDS, shape=as_list)
    assert emu.counters.faults_injected == 2 + RETRY.max_attempts  # type: ignore[operator]


@pytest.mark.anyio
async def test_request_json_runs_a_parser_of_ones_own(
    emu: Emulator, client: SymphonyClient
) -> None:
    def status(value: Any) -> str:
        return str(value["status"])

    assert await client.request_json("agent", "GET", HEALTH, shape=status) == "UP"
    emu.fault(HEALTH, body=b'{"state": "UP"}')
    with pytest.raises(MalformedAnswerError, match="unexpected shape"):
        await client.request_json(
            "agent", "GET", HEALTH, shape=status, idempotent=False
        )  # not retried: the server accepted the request
    assert emu.counters.faults_injected == 1


@pytest.mark.anyio
async def test_request_json_raises_api_error_for_an_error_status(
    emu: Emulator, client: SymphonyClient
) -> None:
    emu.fault(HEALTH, status=404, body=b'{"code": 404, "message": "no such thing"}')
    with pytest.raises(ApiError, match="no such thing") as caught:
        await client.request_json("agent", "GET", HEALTH)
    assert not isinstance(caught.value, MalformedAnswerError)


# --- proxies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "url", "proxy"),
    [
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://pod.example", "http://proxy.corp:3128"),
        ({"ALL_PROXY": "http://all:1"}, "https://pod.example", "http://all:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example"}, "https://pod.example", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://pod.example", None),
        ({"HTTP_PROXY": "http://p:1"}, "https://pod.example", None),
        ({}, "https://pod.example", None),
    ],
)
def test_a_client_takes_the_environments_proxy_as_httpx_would(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, proxy: str | None
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy(url) == proxy
