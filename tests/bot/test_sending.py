"""Sending messages: MessageML and data on the wire, clear errors, Retry-After, pacing."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import anyio
import pytest

from symbot.bot import Bot
from symbot.config import BotSettings
from symbot.emulator import ReceivedRequest
from symbot.errors import (
    ApiError,
    ComplianceBlockedError,
    MessageRejectedError,
    NetworkError,
    RateLimitedError,
)
from symbot.messages import bold, markup, mention
from symbot.testing import BotHarness

from .support import fast

pytestmark = pytest.mark.anyio

CREATE = r"/agent/v4/stream/[^/]+/message/create"


def arrival_gaps(requests: Sequence[ReceivedRequest]) -> list[float]:
    """Seconds between consecutive arrivals, on the emulator's clock."""
    return [later.received_at - earlier.received_at for earlier, later in pairwise(requests)]


async def test_send_message_posts_message_ml_and_entity_data() -> None:
    async with BotHarness(Bot) as h:
        im = h.im("alice")
        alice = h.user("alice")
        data = {"order": {"type": "com.example.order", "version": "1.0", "id": 7}}
        sent = await h.bot.send_message(im, bold("Hi ") + mention(alice.user_id), data=data)
        assert sent is not None
        assert sent.stream_id == im
        assert sent.mentions == (alice.user_id,)
        stored = await h.next_reply(im)
        assert (
            stored.message_ml
            == f'<messageML><b>Hi </b><mention uid="{alice.user_id}"/></messageML>'
        )
        stored.assert_data(data).assert_mentions("alice")
        reply = await sent.reply("and a follow-up")  # the echo can reply too
        assert reply is not None
        assert (await h.next_reply(im)).text == "and a follow-up"


async def test_malformed_message_ml_is_a_message_rejected_error() -> None:
    async with BotHarness(Bot) as h:
        im = h.im("alice")
        with pytest.raises(MessageRejectedError) as caught:
            await h.bot.send_message(im, markup("<messageML><b>unclosed</messageML>"))
        assert caught.value.status == 400
        assert "message/create" in str(caught.value)
        assert h.replies(im) == []


async def test_a_plain_str_that_looks_like_message_ml_is_sent_as_text() -> None:
    async with BotHarness(Bot) as h:
        im = h.im("alice")
        await h.bot.send_message(im, "<messageML><b>not bold</b></messageML>")
        assert (await h.next_reply(im)).text == "<messageML><b>not bold</b></messageML>"


async def test_451_is_a_compliance_blocked_error() -> None:
    async with BotHarness(Bot, configure=fast) as h:
        im = h.im("alice")
        h.emulator.fault(CREATE, status=451)
        with pytest.raises(ComplianceBlockedError) as caught:
            await h.bot.send_message(im, "secret plans")
        assert caught.value.status == 451


async def test_429_retry_after_is_honoured_then_the_send_succeeds() -> None:
    async with BotHarness(Bot, configure=fast) as h:
        im = h.im("alice")
        h.emulator.fault(CREATE, status=429, retry_after=0.1, count=2)
        sent = await h.bot.send_message(im, "eventually")
        assert sent is not None
        assert [m.text for m in h.replies(im)] == ["eventually"]
        # Two refused attempts, then the one that went through, each arriving at least the
        # Retry-After after the one before: the emulator stamps a request before answering.
        assert h.emulator.counters.faults_injected == 2
        gaps = arrival_gaps(h.emulator.received_requests(CREATE))
        assert len(gaps) == 2
        assert all(gap >= 0.1 for gap in gaps), gaps


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"status": 500}, ApiError), ({"status": 503}, ApiError), ({"drop": True}, NetworkError)],
    ids=["500", "503", "dropped"],
)
async def test_a_failure_that_may_have_posted_the_message_is_not_retried(
    fault: dict[str, Any], error: type[Exception]
) -> None:
    async with BotHarness(Bot, configure=fast) as h:
        im = h.im("alice")
        h.emulator.fault(CREATE, **fault)  # once: a retry would go through and post it
        with pytest.raises(error):
            await h.bot.send_message(im, "maybe posted")
        await h.bot.send_message(im, "the next one")
        assert [m.text for m in h.replies(im)] == ["the next one"]
        assert h.emulator.counters.faults_injected == 1


async def test_429_that_outlives_the_retries_is_a_rate_limited_error() -> None:
    async with BotHarness(Bot, configure=fast) as h:
        im = h.im("alice")
        h.emulator.fault(CREATE, status=429, retry_after=0.01, count=50)
        with pytest.raises(RateLimitedError):
            await h.bot.send_message(im, "too fast")


async def test_per_stream_rate_limit_spaces_sends_into_one_stream() -> None:
    rate = 20.0
    interval = 1 / rate
    settings = BotSettings(send_rate_per_stream=rate, mention_required_in_rooms=False)
    async with BotHarness(Bot, settings=settings) as h:
        im = h.im("alice")
        async with anyio.create_task_group() as tg:
            for n in range(4):
                tg.start_soon(h.bot.send_message, im, f"n{n}")
        assert sorted(m.text for m in h.replies(im)) == ["n0", "n1", "n2", "n3"]
        # The pace spaces departures. An arrival trails its departure by a wake-up and the
        # in-process hop, which vary by a few ms, so the emulator sees gaps a little over or
        # under the interval (half an interval of slack); unpaced, all four arrive within a
        # millisecond or two. Over the three gaps only the first send's hop can eat into it.
        gaps = arrival_gaps(h.emulator.received_requests(CREATE))
        assert len(gaps) == 3
        assert all(gap >= interval / 2 for gap in gaps), gaps
        assert sum(gaps) >= 3 * interval - interval / 2, gaps


async def test_send_message_before_serving_says_what_to_do() -> None:
    async with BotHarness(Bot) as h:
        im = h.im("alice")
    with pytest.raises(RuntimeError, match="not serving"):
        await h.bot.send_message(im, "too late")
