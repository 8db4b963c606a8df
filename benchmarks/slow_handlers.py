"""Slow handlers: 2,000 events over 50 streams, each handler taking 20 ms.

Events of one stream must be handled one after another, so the ideal wall time is one
stream's share, 40 events x 20 ms = 0.8 s, all streams overlapping (concurrency 64 >= 50
streams). The figure is the measured wall time from publishing to the last event handled,
beside that ideal; and the number of ordering violations (an event handled before an
earlier one of its stream, or two of one stream at once), which must be 0.
`SYMBOT_BENCH_QUICK=1` shrinks the run.
"""

from __future__ import annotations

import gc
import logging
import os
from collections import defaultdict
from typing import Any

import anyio

from benchmarks.datafeed_throughput import ROOMS_WITHOUT_MENTIONS, message_events, publish
from symbot.bot import Bot, on_message
from symbot.emulator import Emulator
from symbot.messages import Message
from symbot.testing import in_process_config

__all__ = ["main"]

QUICK = os.environ.get("SYMBOT_BENCH_QUICK") == "1"
STREAMS = 50
EVENTS = 500 if QUICK else 2_000
HANDLER_SECONDS = 0.020


class SlowBot(Bot):
    """Sleeps 20 ms per message and checks each stream's order as it goes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_seq: defaultdict[str, int] = defaultdict(lambda: -1)
        self.busy: set[str] = set()
        self.violations = 0

    @on_message()
    async def slow(self, msg: Message) -> None:
        stream, seq = msg.stream_id, int(msg.text.rsplit(" ", 1)[-1])
        if stream in self.busy or seq != self.last_seq[stream] + 1:
            self.violations += 1
        self.busy.add(stream)
        try:
            await anyio.sleep(HANDLER_SECONDS)
        finally:
            self.busy.discard(stream)
            self.last_seq[stream] = seq


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    emu = Emulator()
    emu.add_user("bot")
    events = message_events(emu, EVENTS, STREAMS)
    bot = SlowBot(
        in_process_config(emu, "bot", bot=ROOMS_WITHOUT_MENTIONS), transport=emu.transport()
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        await bot.started.wait()
        gc.collect()
        publish(emu, events, "bot")
        start = anyio.current_time()
        while bot.stats.events_handled < EVENTS:  # noqa: ASYNC110 - measuring, not waiting
            await anyio.sleep(0.001)
        wall = anyio.current_time() - start
        await bot.stop()
    assert bot.stats.handler_calls == EVENTS, "the handler must see every event"
    ideal = EVENTS / STREAMS * HANDLER_SECONDS
    print(
        f"{EVENTS} events over {STREAMS} streams, {HANDLER_SECONDS * 1000:.0f} ms handlers, "
        f"concurrency {bot.config.bot.concurrency}, {bot.feed_stats.batches} batches"
    )
    print(f"{'wall time':24}{wall:>8.3f} s")
    print(f"{'ideal (one stream)':24}{ideal:>8.3f} s   (baseline)")
    print(f"{'ratio wall / ideal':24}{wall / ideal:>8.2f}")
    print(f"{'ordering violations':24}{bot.violations:>8}     (target 0)")
    print(f"result: {'PASS' if bot.violations == 0 else 'ORDER VIOLATED'}")


if __name__ == "__main__":
    anyio.run(main)
