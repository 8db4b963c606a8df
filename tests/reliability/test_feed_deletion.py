"""The datafeed deleted again and again while events flow: the bot recreates it each time,
and the only events it misses are the ones the emulator itself dropped (and counted).

Served emulator on loopback, both anyio backends.
"""

from __future__ import annotations

from collections import Counter

import anyio
import pytest
from attrs import evolve

from symbot.emulator import Emulator
from symbot.messages import Message

from .support import (
    BOT,
    LONG_POLL_TIMEOUT,
    EventSource,
    RecordingBot,
    ServedBot,
    bot_config,
    drained,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

DELETIONS = 8
DELETE_EVERY = 0.3  # seconds
TICK = 0.01  # the producer publishes EVENTS_PER_TICK events every tick
EVENTS_PER_TICK = 10
AROUND_DELETION = 3  # events published just before and just after each deletion
# Nothing is ever re-queued, so each event reaches the bot at most once and the count of
# what it missed is exact.
LONG_VISIBILITY_TIMEOUT = 600.0


class SlowBot(RecordingBot):
    """Takes a few milliseconds per event, so deletions often find a batch in flight."""

    async def after_record(self, msg: Message) -> None:
        await anyio.sleep(0.005)


async def test_only_events_the_emulator_dropped_are_lost_when_the_feed_is_deleted() -> None:
    async with Emulator(
        visibility_timeout=LONG_VISIBILITY_TIMEOUT, long_poll_timeout=LONG_POLL_TIMEOUT
    ) as emu:
        emu.add_user(BOT)
        source = EventSource(emu)
        dropped_before = emu.counters.events_dropped  # the templates, which reach no feed
        config = bot_config(emu)
        datafeed = evolve(config.datafeed, visibility_timeout=LONG_VISIBILITY_TIMEOUT)
        bot = SlowBot(evolve(config, datafeed=datafeed))
        pending_at_deletion: list[int] = []
        in_flight_at_deletion: list[int] = []
        without_feed: list[str] = []  # published while the bot had no feed

        def publish(count: int) -> None:
            # Synchronous: no feed can appear or vanish between the check and the publish.
            has_feed = bool(emu.feeds(BOT))
            ids = source.inject(count)
            if not has_feed:
                without_feed.extend(ids)

        async def produce() -> None:
            while True:
                publish(EVENTS_PER_TICK)
                await anyio.sleep(TICK)

        async def delete_feeds() -> None:
            for _ in range(DELETIONS):
                await anyio.sleep(DELETE_EVERY)
                await wait_until(lambda: bool(emu.feeds(BOT)), 30, "the bot's new feed")
                publish(AROUND_DELETION)  # certainly still waiting: the reader has not run
                [feed] = emu.feeds(BOT)
                pending_at_deletion.append(feed.pending)
                in_flight_at_deletion.append(feed.in_flight)
                emu.delete_feed(feed.feed_id)
                publish(AROUND_DELETION)  # certainly without a feed

        async with ServedBot(bot) as served:
            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                await delete_feeds()
                tg.cancel_scope.cancel()
            # The last deletion leaves no feed until the bot makes its next one: drained then
            # would say nothing (under load it came before the new feed).
            await wait_until(
                lambda: (bool(emu.feeds(BOT)) and drained(emu)) or not served.alive,
                30,
                "the bot's last feed, and the last events",
            )
            assert served.alive, "the bot stopped serving"

        handled = Counter(bot.handled)
        assert [mid for mid, seen in handled.items() if seen > 1] == []
        assert set(handled) <= set(source.sent)
        assert set(handled).isdisjoint(without_feed)
        # Events waiting in a deleted feed are lost; those in flight had reached the bot.
        missed = len(source.sent) - len(handled)
        assert missed == sum(pending_at_deletion) + len(without_feed)
        dropped = emu.counters.events_dropped - dropped_before
        assert dropped == sum(pending_at_deletion) + sum(in_flight_at_deletion) + len(without_feed)
        assert emu.counters.events_requeued == 0
        assert bot.feed_stats.feeds_created == DELETIONS + 1
        assert sum(in_flight_at_deletion) > 0, "no deletion found a batch in flight"
