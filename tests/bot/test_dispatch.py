"""The dispatcher through a served bot: order, concurrency, dedupe, redelivery, isolation."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from attrs import evolve

from symbot.bot import on_event, on_message
from symbot.config import BotConfig
from symbot.datafeed import Event
from symbot.emulator import Emulator
from symbot.errors import Redeliver
from symbot.messages import Message
from symbot.testing import BotHarness

from .support import RecordingBot, message_event, offstage_message

pytestmark = pytest.mark.anyio


class OrderBot(RecordingBot):
    """Records, per stream, the order in which messages were handled, and how many
    handlers ran at the same time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled: defaultdict[str, list[int]] = defaultdict(list)
        self.active: defaultdict[str, int] = defaultdict(int)
        self.running = 0
        self.max_running = 0
        self.overlaps_in_a_stream = 0

    @on_message()
    async def record(self, msg: Message) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.active[msg.stream_id] += 1
        if self.active[msg.stream_id] > 1:
            self.overlaps_in_a_stream += 1
        try:
            await anyio.sleep(random.uniform(0, 0.004))
            self.handled[msg.stream_id].append(int(msg.text))
        finally:
            self.active[msg.stream_id] -= 1
            self.running -= 1


async def test_per_stream_order_is_kept_while_streams_run_in_parallel() -> None:
    streams, per_stream = 30, 12
    async with BotHarness(OrderBot) as h:
        rooms = [h.room(f"room {n}", ["alice"]) for n in range(streams)]
        for seq in range(per_stream):
            for room in rooms:
                await h.say("alice", room, str(seq))
        await h.wait_until(lambda: h.bot.stats.events_handled == streams * per_stream, 20)
        bot = h.bot
        assert all(bot.handled[room] == list(range(per_stream)) for room in rooms)
        assert bot.overlaps_in_a_stream == 0
        assert 1 < bot.max_running <= h.config.bot.concurrency
        assert bot.errors == []


async def test_waiting_handlers_of_every_stream_in_a_batch_run_at_once() -> None:
    """Each handler waits until the handlers of all 20 streams are running: this completes
    only if no stream of the batch waits for another's handler to finish first."""
    streams = 20

    class Gathering(RecordingBot):
        arrived = 0
        everyone: anyio.Event

        @on_message()
        async def gather(self, msg: Message) -> None:
            self.arrived += 1
            if self.arrived == streams:
                self.everyone.set()
            await self.everyone.wait()

    async with BotHarness(Gathering) as h:
        h.bot.everyone = anyio.Event()
        rooms = [h.room(f"room {n}", ["alice"]) for n in range(streams)]
        for room in rooms:  # no await in between: one batch
            h.emulator.send("alice", room, "here")
        await h.wait_until(lambda: h.bot.stats.events_handled == streams, 10)
        assert h.bot.feed_stats.batches == 1
        assert h.bot.errors == []


async def test_each_handler_call_is_logged_at_debug_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Quiet(RecordingBot):
        @on_message()
        async def listen(self, msg: Message) -> None:
            pass

    async with BotHarness(Quiet) as h:
        im = h.im("alice")
        caplog.set_level(logging.INFO, logger="symbot.bot")
        await h.say("alice", im, "unlogged")
        await h.wait_until(lambda: h.bot.stats.events_handled == 1)
        caplog.set_level(logging.DEBUG, logger="symbot.bot")
        await h.say("alice", im, "logged")
        await h.wait_until(lambda: h.bot.stats.events_handled == 2)
    lines = [r.getMessage() for r in caplog.records if "running handler" in r.getMessage()]
    [line] = lines
    alice = h.user("alice").user_id
    assert f"(MESSAGESENT) in stream {im} from user {alice}: running handler" in line
    assert line.endswith("Quiet.listen")


async def test_concurrency_is_capped_by_the_configured_limit() -> None:
    from symbot.config import BotSettings

    settings = BotSettings(concurrency=3, mention_required_in_rooms=False)
    async with BotHarness(OrderBot, settings=settings) as h:
        rooms = [h.room(f"room {n}", ["alice"]) for n in range(12)]
        for room in rooms:
            await h.say("alice", room, "0")
        await h.wait_until(lambda: h.bot.stats.events_handled == len(rooms))
        assert h.bot.max_running == 3


async def test_duplicate_event_ids_are_handled_once() -> None:
    class Counter(RecordingBot):
        texts: list[str]

        @on_message()
        async def count(self, msg: Message) -> None:
            self.texts.append(msg.text)

    async with BotHarness(Counter) as h:
        h.bot.texts = []
        v4 = offstage_message(h.emulator, h.user("alice").username, "only once")
        event = message_event(v4, event_id="evt-dup")
        h.emulator.inject_event(event, to=["bot"])  # twice in one batch
        h.emulator.inject_event(event, to=["bot"])
        await h.wait_until(lambda: h.bot.stats.duplicates_dropped >= 1)
        h.emulator.inject_event(event, to=["bot"])  # again in a later batch
        h.emulator.inject_event(message_event(v4, event_id="evt-other"), to=["bot"])
        await h.wait_until(lambda: len(h.bot.texts) == 2)
        assert h.bot.stats.duplicates_dropped == 2
        assert h.bot.texts == ["only once", "only once"]  # evt-dup, then evt-other


async def test_redeliver_leaves_the_batch_unacknowledged_and_it_comes_back() -> None:
    class Flaky(RecordingBot):
        attempts = 0
        done: list[str]

        @on_message()
        async def once_unready(self, msg: Message) -> None:
            self.attempts += 1
            if self.attempts == 1:
                raise Redeliver
            self.done.append(msg.text)

    emu = Emulator(visibility_timeout=0.3)
    async with BotHarness(Flaky, emulator=emu) as h:
        h.bot.done = []
        im = h.im("alice")
        await h.say("alice", im, "try me")
        await h.wait_until(lambda: h.bot.done == ["try me"], 10)
        assert h.bot.attempts == 2
        assert emu.counters.feed.events_requeued >= 1
        assert h.bot.stats.redeliveries == 1
        assert h.bot.feed_stats.batches_unacknowledged == 1
        await h.wait_until(lambda: emu.counters.feed.events_acked >= 1)


async def test_a_crashing_handler_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Fragile(RecordingBot):
        calm: list[str]

        @on_message(contains="boom")
        async def explode(self, msg: Message) -> None:
            raise RuntimeError(f"exploded on {msg.text}")

        @on_message()
        async def keep_calm(self, msg: Message) -> None:
            self.calm.append(msg.text)

    caplog.set_level(logging.ERROR, logger="symbot.bot")
    async with BotHarness(Fragile) as h:
        h.bot.calm = []
        im = h.im("alice")
        for text in ("one", "boom", "two"):
            await h.say("alice", im, text)
        await h.wait_until(lambda: len(h.bot.calm) == 3)
        assert h.bot.calm == ["one", "boom", "two"]
        assert h.bot.stats.handler_errors == 1
        [(exc, event)] = h.bot.errors
        assert isinstance(exc, RuntimeError)
        assert event.stream_id == im
    [record] = [r for r in caplog.records if "explode" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert event.id in record.getMessage()
    assert im in record.getMessage()


async def test_a_failing_on_error_hook_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    class Grumpy(RecordingBot):
        @on_message()
        async def fail(self, msg: Message) -> None:
            raise ValueError("handler")

        async def on_error(self, exc: Exception, event: Event) -> None:
            raise RuntimeError("hook")

    async with BotHarness(Grumpy) as h:
        im = h.im("alice")
        await h.say("alice", im, "a")
        await h.say("alice", im, "b")
        await h.wait_until(lambda: h.bot.stats.handler_errors == 2)
        assert h.bot.stats.events_handled == 2
    assert any("on_error failed" in r.getMessage() for r in caplog.records)


async def test_malformed_events_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    class Listener(RecordingBot):
        heard: list[str]

        @on_message()
        async def hear(self, msg: Message) -> None:
            self.heard.append(msg.text)

        @on_event("SOMETHINGNEW")
        async def unknown(self, event: Event) -> None:
            self.heard.append(f"raw {event.type} {event.raw['payload']}")

    async with BotHarness(Listener) as h:
        h.bot.heard = []
        im = h.im("alice")
        emu = h.emulator
        emu.inject_event('{"id": "broken-1", "type": "MESSAGESENT", "payload": {', to=["bot"])
        emu.inject_event({"id": "broken-2", "type": "MESSAGESENT", "payload": {}}, to=["bot"])
        emu.inject_event("[1, 2]", to=["bot"])
        emu.inject_event({"id": "new-1", "type": "SOMETHINGNEW", "payload": {"x": 1}}, to=["bot"])
        await h.say("alice", im, "still listening")
        await h.wait_until(lambda: len(h.bot.heard) == 2)
        assert sorted(h.bot.heard) == ["raw SOMETHINGNEW {'x': 1}", "still listening"]
        assert h.bot.stats.malformed_events == 3
        await h.wait_until(lambda: emu.counters.feed.events_acked == 5)
    messages = [r.getMessage() for r in caplog.records if r.name == "symbot.bot"]
    assert any("broken-1" in m for m in messages)
    assert any("broken-2" in m for m in messages)


SHORT_VISIBILITY_TIMEOUT = 0.2


class Sluggish(RecordingBot):
    """Takes a little longer over each message than `SHORT_VISIBILITY_TIMEOUT`."""

    @on_message()
    async def dawdle(self, msg: Message) -> None:
        await anyio.sleep(SHORT_VISIBILITY_TIMEOUT + 0.1)


def visibility_timeout(seconds: float) -> Callable[[BotConfig], BotConfig]:
    """A `configure=` for the harness: the datafeed's visibility timeout set to `seconds`."""
    return lambda config: evolve(
        config, datafeed=evolve(config.datafeed, visibility_timeout=seconds)
    )


async def slow_batch_warnings(
    bot_class: type[Sluggish],
    caplog: pytest.LogCaptureFixture,
    configure: Callable[[BotConfig], BotConfig] | None = None,
) -> tuple[int, list[logging.LogRecord]]:
    """Serve `bot_class`, have it handle one message (one batch, acknowledged), and return
    its `slow_batches` count and the slow-batch warnings logged meanwhile."""
    caplog.clear()
    async with BotHarness(bot_class, configure=configure) as h:
        await h.say("alice", h.im("alice"), "take your time")
        await h.wait_until(lambda: h.emulator.counters.feed.events_acked == 1)
        slow_batches = h.bot.stats.slow_batches
    warnings = [
        r
        for r in caplog.records
        if r.name == "symbot.bot" and "visibility timeout" in r.getMessage()
    ]
    return slow_batches, warnings


async def test_a_batch_slower_than_the_configured_visibility_timeout_is_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure = visibility_timeout(SHORT_VISIBILITY_TIMEOUT)
    slow_batches, [warning] = await slow_batch_warnings(Sluggish, caplog, configure)
    assert slow_batches == 1
    assert warning.levelno == logging.WARNING


async def test_the_same_batch_is_not_warned_of_under_the_default_visibility_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await slow_batch_warnings(Sluggish, caplog) == (0, [])
