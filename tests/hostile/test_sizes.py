"""Answers too large to read (finding 9: a 512 MiB body was read whole, then MemoryError).

A 64 MiB body, announced by its Content-Length or sent chunked with no length at all, and a
"zip bomb" (a small gzip body that inflates to 256 MiB) are refused at the size limit
(`limits.max_answer_bytes`, 32 MiB by default) without being read further, handled like a
5xx, and the bot goes on serving. An error answer with a huge body is still just its status.
The 512 MiB case, with the peak memory it costs, is `benchmarks/answer_cap.py`.
"""

from __future__ import annotations

import logging
import zlib

import pytest

from symbot.config import DEFAULT_MAX_ANSWER_BYTES
from symbot.emulator import Body
from symbot.emulator._keys import KeyPair

from .support import (
    FEEDS,
    READ,
    SESSIONINFO,
    ServedBot,
    faults_served,
    serving,
    still_serving,
)

pytestmark = pytest.mark.anyio

MIB = 1 << 20
HUGE = Body(prefix=b'{"events": [], "padding": "', repeat=b"x", times=64 * MIB, suffix=b'"}')


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """256 MiB of zeros, gzipped: about 256 KiB on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MIB)
    return b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()


HUGE_ANSWERS = {
    "64 MiB, Content-Length": {"body": HUGE},
    "64 MiB, chunked": {"body": HUGE, "chunked": True},
}


@pytest.mark.parametrize("huge", sorted(HUGE_ANSWERS))
async def test_a_64_mib_read_is_refused_at_the_limit_and_the_bot_serves(
    key: KeyPair, huge: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert HUGE.size > 2 * DEFAULT_MAX_ANSWER_BYTES
    async with serving(key) as (emu, bot), ServedBot(bot) as running:
        await still_serving(emu, bot, running)
        with caplog.at_level(logging.WARNING, "symbot.datafeed"):
            emu.fault(READ, count=2, **HUGE_ANSWERS[huge])  # type: ignore[arg-type]
            await faults_served(emu, 2)
            await still_serving(emu, bot, running)
    refused = [r.getMessage() for r in caplog.records if "too large" in r.getMessage()]
    assert len(refused) == 2, refused
    assert "limits.max_answer_bytes" in refused[0]


async def test_a_gzip_bomb_is_refused_at_the_limit_not_inflated(
    key: KeyPair, gzip_bomb: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    bomb = {"body": gzip_bomb, "headers": [("Content-Encoding", "gzip")]}
    async with serving(key) as (emu, bot), ServedBot(bot) as running:
        await still_serving(emu, bot, running)
        with caplog.at_level(logging.WARNING, "symbot.datafeed"):
            emu.fault(READ, count=2, **bomb)  # type: ignore[arg-type]
            await faults_served(emu, 2)
            await still_serving(emu, bot, running)
    assert sum("too large" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize("path", [SESSIONINFO, FEEDS])
async def test_huge_answers_at_start_up_are_retried(key: KeyPair, path: str) -> None:
    async with serving(key) as (emu, bot):
        emu.fault(path, method="GET", count=2, body=HUGE, chunked=True)
        async with ServedBot(bot, start_timeout=30) as running:
            assert emu.counters.faults_injected == 2
            await still_serving(emu, bot, running)


async def test_an_error_with_a_huge_body_is_just_its_status(
    key: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(key) as (emu, bot), ServedBot(bot) as running:
        await still_serving(emu, bot, running)
        with caplog.at_level(logging.WARNING, "symbot.datafeed"):
            emu.fault(READ, count=2, status=503, body=HUGE, chunked=True)
            await faults_served(emu, 2)
            await still_serving(emu, bot, running)
    failures = [r.getMessage() for r in caplog.records if "read failed" in r.getMessage()]
    assert len(failures) == 2
    assert all('answered 503: {"events": [], "padding": "xxx' in f for f in failures), failures
    assert all(len(f) < 1000 for f in failures)  # the message, not the body
