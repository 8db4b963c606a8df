"""Findings 7 and 11 of issue 11, as they were reported (6, 8 and 9 have files of their own:
test_answers, test_retry_after, test_sizes; 11's TLS half is test_tls).

7. A 403 on a read (too many feeds), then a feed list answered `null`: `TypeError`, and
   `serve()` ended.
11. A sessioninfo answer that is not JSON at start-up: a bare `JSONDecodeError`.
"""

from __future__ import annotations

import logging

import anyio
import pytest

from symbot.config import RetryPolicy
from symbot.emulator import Body
from symbot.emulator._keys import KeyPair
from symbot.errors import MalformedAnswerError

from .support import (
    READ,
    SESSIONINFO,
    ServedBot,
    faults_served,
    serving,
    still_serving,
)

pytestmark = pytest.mark.anyio

UNTAGGED_LIST = "/agent/v5/datafeeds$"  # the listing of every feed the bot has, after a 403


@pytest.mark.parametrize("listed", [b"null", b"{}", b'"feeds"', b"[null, 7]", b'[{"id": 7}]'])
async def test_a_403_on_a_read_then_a_broken_feed_list_leaves_the_bot_serving(
    key: KeyPair, listed: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(key) as (emu, bot), ServedBot(bot) as running:
        await still_serving(emu, bot, running)
        with caplog.at_level(logging.WARNING, "symbot.datafeed"):
            emu.fault(READ, status=403, count=1)
            emu.fault(UNTAGGED_LIST, method="GET", count=1, body=listed)
            await faults_served(emu, 2)
            await still_serving(emu, bot, running)
    assert any("unexpected shape" in r.getMessage() for r in caplog.records)


async def test_a_sessioninfo_that_is_not_json_is_retried_like_a_5xx(key: KeyPair) -> None:
    async with serving(key) as (emu, bot):
        emu.fault(SESSIONINFO, count=2, body=b"<html>maintenance</html>", content_type="text/html")
        async with ServedBot(bot, start_timeout=30) as running:
            assert emu.counters.faults_injected == 2
            await still_serving(emu, bot, running)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<html>maintenance</html>", "not JSON"),
        (b'{"id": "not a number", "username": "hostile.bot"}', "unexpected shape"),
        (Body(repeat=b"[", times=100_000), "too deep"),
    ],
)
async def test_a_sessioninfo_that_stays_malformed_is_a_clear_error(
    key: KeyPair, body: bytes | Body, kind: str
) -> None:
    policy = RetryPolicy(initial=0.01, maximum=0.02, max_attempts=3)
    async with serving(key, retry=policy) as (emu, bot):
        emu.fault(SESSIONINFO, count=100, body=body)
        with pytest.raises(MalformedAnswerError) as caught, anyio.fail_after(30):
            await bot.serve()
    error = caught.value
    assert error.kind == kind
    assert error.status == 200
    assert "/pod/v2/sessioninfo" in str(error)
    assert f"malformed answer ({kind})" in str(error)
    assert emu.counters.faults_injected == 3  # retried like a 5xx, then given up
