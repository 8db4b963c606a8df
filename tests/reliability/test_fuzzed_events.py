"""Malformed events between good ones: the datafeed loop survives and handles the good ones.

Served emulator on loopback, both anyio backends.
"""

from __future__ import annotations

import pytest

from symbot.emulator import Emulator

from .support import (
    BOT,
    LONG_POLL_TIMEOUT,
    VISIBILITY_TIMEOUT,
    EventSource,
    RecordingBot,
    ServedBot,
    bot_config,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

DEPTH = 5_000  # far beyond the json module's recursion limit (~1,000)

DEEP_FRAGMENTS = {
    # a broken event: the read body is not JSON, so the datafeed salvages it
    "unterminated": "[" * DEPTH,
    # a well-formed event, only deep: the read body is valid JSON
    "well-formed": '{"id":"deep","type":"X","x":' + "[" * DEPTH + "]" * DEPTH + "}",
}


@pytest.mark.parametrize("fragment", DEEP_FRAGMENTS.values(), ids=list(DEEP_FRAGMENTS))
async def test_a_deeply_nested_event_is_skipped_and_the_loop_goes_on(fragment: str) -> None:
    async with Emulator(
        visibility_timeout=VISIBILITY_TIMEOUT, long_poll_timeout=LONG_POLL_TIMEOUT
    ) as emu:
        emu.add_user(BOT)
        source = EventSource(emu, streams=2)
        bot = RecordingBot(bot_config(emu))
        async with ServedBot(bot) as served:
            before = source.inject(3)
            await wait_until(lambda: len(bot.handled) == 3, 20, "the first events")
            emu.inject_event(fragment, to=[BOT])
            after = source.inject(3)
            await wait_until(
                lambda: len(bot.handled) == 6 or not served.alive, 20, "the events after it"
            )
            assert served.alive, "the bot stopped serving"
            assert sorted(bot.handled) == sorted(before + after)  # streams run concurrently
            assert bot.stats.malformed_events == 1
