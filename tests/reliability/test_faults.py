"""10,000 events while a fifth of all requests meet a fault: each is handled exactly once.

Every path (logins, session info, datafeed list/create/read) answers 503, 500, 429 with
`Retry-After`, a dropped connection, or a delay, each on 4% of requests. Served emulator on
loopback, both anyio backends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import anyio
import pytest

from symbot.config import DatafeedConfig
from symbot.emulator import Emulator

from .support import (
    BOT,
    LONG_POLL_TIMEOUT,
    VISIBILITY_TIMEOUT,
    EventSource,
    RecordingBot,
    ServedBot,
    bot_config,
    drained,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

EVENTS = 10_000
MAX_BATCH = 100  # events per read (the default): 10,000 events take over a hundred reads
FAULT_RATE = 0.04  # per kind of fault; five kinds, 20% of requests in all
RETRY_AFTER = 1.0  # seconds, whole as servers send them; as long as the visibility timeout
READ_TIMEOUT = 1.5  # the bot's datafeed read timeout (the long-poll is 0.5 s)
SHORT_DELAY = 0.2
LONG_DELAY = 2.0  # past the read timeout: the agent takes a batch whose answer nobody reads


def add_faults(emu: Emulator) -> None:
    """Fault rules on every path: 503, 500, 429 and dropped connections each on FAULT_RATE
    of all requests, delays on FAULT_RATE too (half short, half past the read timeout).

    The emulator tries the rules in order, each with its own probability, so each rule gets
    the conditional probability that makes its overall share what it should be.
    """
    rules: list[tuple[float, Callable[[float], None]]] = [
        (FAULT_RATE, lambda p: emu.fault("/", status=503, probability=p)),
        (FAULT_RATE, lambda p: emu.fault("/", status=500, probability=p)),
        (FAULT_RATE, lambda p: emu.fault("/", status=429, retry_after=RETRY_AFTER, probability=p)),
        (FAULT_RATE, lambda p: emu.fault("/", drop=True, probability=p)),
        (FAULT_RATE / 2, lambda p: emu.fault("/", delay=SHORT_DELAY, probability=p)),
        (FAULT_RATE / 2, lambda p: emu.fault("/", delay=LONG_DELAY, probability=p)),
    ]
    taken = 0.0
    for share, add in rules:
        add(share / (1 - taken))
        taken += share


async def test_every_event_is_handled_exactly_once_while_a_fifth_of_requests_meet_faults() -> None:
    async with Emulator(
        visibility_timeout=VISIBILITY_TIMEOUT,
        long_poll_timeout=LONG_POLL_TIMEOUT,
        max_batch=MAX_BATCH,
    ) as emu:
        emu.add_user(BOT)
        source = EventSource(emu)
        dropped_before = emu.counters.events_dropped  # the templates, which reach no feed
        datafeed = DatafeedConfig(read_timeout=READ_TIMEOUT, visibility_timeout=VISIBILITY_TIMEOUT)
        bot = RecordingBot(bot_config(emu, datafeed=datafeed))
        add_faults(emu)  # before the bot starts: its logins and feed creation face them too
        async with ServedBot(bot, start_timeout=60) as served:
            while len(source.sent) < EVENTS:
                source.inject(MAX_BATCH)
                await anyio.sleep(0.005)
            await wait_until(
                lambda: len(bot.handled) >= EVENTS or not served.alive, 120, "every event"
            )
            emu.clear_faults()
            await wait_until(lambda: drained(emu), 30, "the feed to have nothing left")
            assert served.alive, "the bot stopped serving"
            late = source.inject(1)  # still serving: an event after the storm is handled too
            await wait_until(lambda: bot.handled[-1:] == late, 30, "an event after the faults")

        duplicates = [mid for mid, seen in Counter(bot.handled).items() if seen > 1]
        assert duplicates == []
        assert set(bot.handled) == set(source.sent)
        assert len(emu.feeds(BOT)) == 1
        assert emu.counters.events_dropped == dropped_before
        assert bot.feed_stats.failed_reads > 0
        assert emu.counters.faults_injected > 0
