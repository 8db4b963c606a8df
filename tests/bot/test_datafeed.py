"""The datafeed loop through a served bot: recovery from every failure, stop, restart."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from attrs import evolve

from symbot.bot import Bot, on_message
from symbot.config import BotConfig, DatafeedConfig
from symbot.datafeed import MalformedEvent, parse_read_body
from symbot.emulator import Emulator
from symbot.messages import Message
from symbot.testing import BotHarness, in_process_config

from .support import eventually, fast

pytestmark = pytest.mark.anyio

READ = r"/agent/v5/datafeeds/[^/]+/read"


class Echo(Bot):
    @on_message()
    async def echo(self, msg: Message) -> None:
        await msg.reply(msg.text)


async def test_reuses_an_existing_feed_by_tag() -> None:
    emu = Emulator()
    emu.add_user("bot")
    existing = emu.feed_store.create("bot", "symbot-bot")
    async with BotHarness(Echo, emulator=emu) as h:
        assert h.bot.feed_stats.feeds_reused == 1
        assert h.bot.feed_stats.feeds_created == 0
        assert [feed.feed_id for feed in emu.feeds("bot")] == [existing.feed_id]


async def test_a_feed_deleted_mid_run_is_recreated_and_reading_continues() -> None:
    async with BotHarness(Echo) as h:
        im = h.im("alice")
        await h.say("alice", im, "before")
        assert (await h.next_reply(im)).text == "before"
        [feed] = h.emulator.feeds("bot")
        h.emulator.delete_feed(feed.feed_id)
        await h.wait_until(lambda: len(h.emulator.feeds("bot")) == 1)
        await h.say("alice", im, "after")
        assert (await h.next_reply(im)).text == "after"
        assert h.bot.feed_stats.feeds_created == 2
        assert h.emulator.feeds("bot")[0].feed_id != feed.feed_id


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 500}, {"drop": True}])
async def test_server_error_storms_are_ridden_out(fault: dict[str, object]) -> None:
    async with BotHarness(Echo, configure=fast) as h:
        im = h.im("alice")
        h.emulator.fault(READ, count=15, **fault)  # type: ignore[arg-type]
        await h.say("alice", im, "wakes the pending read")  # the faults hit the reads after it
        assert (await h.next_reply(im)).text == "wakes the pending read"
        await h.say("alice", im, "through the storm")
        assert (await h.next_reply(im, timeout=10)).text == "through the storm"
        assert h.bot.feed_stats.failed_reads == 15


async def test_429_retry_after_is_honoured_on_read() -> None:
    async with BotHarness(Echo, configure=fast) as h:
        im = h.im("alice")
        h.emulator.fault(READ, status=429, retry_after=0.2, count=2)
        await h.say("alice", im, "wakes the pending read")
        assert (await h.next_reply(im)).text == "wakes the pending read"
        await h.say("alice", im, "patience")
        assert (await h.next_reply(im)).text == "patience"
        assert h.bot.feed_stats.failed_reads == 2


async def test_a_read_slower_than_the_read_timeout_is_retried() -> None:
    emu = Emulator(long_poll_timeout=0.2)

    def short_reads(config: BotConfig) -> BotConfig:
        return evolve(fast(config), datafeed=DatafeedConfig(read_timeout=0.5))

    async with BotHarness(Echo, emulator=emu, configure=short_reads) as h:
        im = h.im("alice")
        emu.fault(READ, delay=3.0, count=1)
        await h.say("alice", im, "wakes the pending read")
        assert (await h.next_reply(im)).text == "wakes the pending read"
        await h.say("alice", im, "late but here")
        assert (await h.next_reply(im)).text == "late but here"
        assert h.bot.feed_stats.failed_reads == 1


async def test_revoked_tokens_are_refreshed_and_reading_continues() -> None:
    async with BotHarness(Echo, configure=fast) as h:
        im = h.im("alice")
        await h.say("alice", im, "one")
        assert (await h.next_reply(im)).text == "one"
        logins = h.bot.client.session.logins
        h.emulator.revoke_tokens("bot")
        await h.say("alice", im, "two")
        assert (await h.next_reply(im)).text == "two"
        assert h.bot.client.session.logins > logins


async def test_too_many_feeds_deletes_the_stale_ones() -> None:
    emu = Emulator(max_feeds_per_user=3)
    emu.add_user("bot")
    stale = [emu.feed_store.create("bot", f"old-{n}").feed_id for n in range(4)]
    async with BotHarness(Echo, emulator=emu, configure=fast) as h:
        im = h.im("alice")
        await h.say("alice", im, "room at last")
        assert (await h.next_reply(im)).text == "room at last"
        assert h.bot.feed_stats.stale_feeds_deleted >= 4
        assert not {feed.feed_id for feed in emu.feeds("bot")} & set(stale)


async def test_stop_during_a_pending_long_poll_returns_at_once() -> None:
    emu = Emulator(long_poll_timeout=30.0)
    async with BotHarness(Echo, emulator=emu) as h:
        await anyio.sleep(0.05)  # the read is now parked in the emulator's long-poll
        with anyio.fail_after(5):  # far below the 30 s long-poll: a hang guard, not a timing
            await h.bot.stop()
        assert not h.bot.started.is_set()


async def test_stop_lets_running_handlers_finish_and_acknowledges_on_restart() -> None:
    class Slow(Bot):
        finished: list[str]

        @on_message()
        async def slow(self, msg: Message) -> None:
            await anyio.sleep(0.3)
            self.finished.append(msg.text)

    emu = Emulator()
    config = in_process_config(emu, "bot")
    bot = Slow(config, transport=emu.transport())
    bot.finished = []
    emu.add_user("alice", public_key_pem=emu.user("bot").public_key_pem)
    im = emu.create_im("bot", "alice")
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        await bot.started.wait()
        emu.send("alice", im, "drain me")
        await eventually(lambda: bot.stats.handler_calls > 0)
        await bot.stop(timeout=10)
        assert bot.finished == ["drain me"]
    assert emu.counters.feed.events_acked == 0  # no final read: it would take new events

    async with anyio.create_task_group() as tg:  # the same bot, served again
        tg.start_soon(bot.serve)
        await bot.started.wait()
        await eventually(lambda: emu.counters.feed.events_acked > 0)
        assert bot.feed_stats.feeds_reused == 0  # it kept its feed id
        await bot.stop()
    assert bot.finished == ["drain me"]
    assert len(emu.feeds("bot")) == 1


async def test_stop_deadline_cancels_slow_handlers_and_leaves_the_batch_for_redelivery() -> None:
    class Stuck(Bot):
        cancelled = False

        @on_message()
        async def stuck(self, msg: Message) -> None:
            try:
                await anyio.sleep_forever()
            finally:
                self.cancelled = True

    async with BotHarness(Stuck) as h:
        im = h.im("alice")
        await h.say("alice", im, "never done")
        await h.wait_until(lambda: h.bot.stats.handler_calls == 1)
        with anyio.fail_after(5):
            await h.bot.stop(timeout=0.1)
        assert h.bot.cancelled
        assert h.bot.feed_stats.batches_unacknowledged == 1
        assert h.emulator.counters.feed.events_acked == 0
        assert h.bot.stats.events_handled == 0


async def test_a_handler_can_stop_the_bot() -> None:
    class Quitter(Bot):
        @on_message(contains="quit")
        async def quit(self, msg: Message) -> None:
            await msg.reply("bye")
            await self.stop()

    emu = Emulator()
    bot = Quitter(in_process_config(emu, "bot"), transport=emu.transport())
    emu.add_user("alice", public_key_pem=emu.user("bot").public_key_pem)
    im = emu.create_im("bot", "alice")
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(bot.serve)
            await bot.started.wait()
            emu.send("alice", im, "please quit")
    assert [m.text for m in emu.sent_messages() if m.sender == "bot"] == ["bye"]


def test_a_read_body_with_a_broken_event_is_salvaged() -> None:
    body = (
        b'{"events":[{"id":"a","type":"X"},{"id":"broken","payload":{,'
        b'{"id":"b","type":"X"},[1]],"ackId":"feed.7"}'
    )
    events, ack_id = parse_read_body(body)
    assert ack_id == "feed.7"
    assert events[0] == {"id": "a", "type": "X"}
    assert isinstance(events[1], MalformedEvent)
    assert events[1].event_id == "broken"
    assert events[2:] == [{"id": "b", "type": "X"}, [1]]


def test_a_read_body_without_an_ack_id_is_refused() -> None:
    with pytest.raises(ValueError, match="ackId"):
        parse_read_body(b'{"events": [], "ackid": "x"}')
    with pytest.raises(ValueError, match="ackId"):
        parse_read_body(b"<html>502 Bad Gateway</html>")


async def test_a_401_that_survives_the_replay_forces_a_new_login() -> None:
    async with BotHarness(Echo, configure=fast) as h:
        im = h.im("alice")
        h.emulator.fault(READ, status=401, count=2)  # the auth flow's replay gets one too
        await h.say("alice", im, "wakes the pending read")
        assert (await h.next_reply(im)).text == "wakes the pending read"
        await h.say("alice", im, "still authorised")
        assert (await h.next_reply(im)).text == "still authorised"
        assert h.bot.feed_stats.auth_refreshes == 1


async def test_a_path_prefix_in_the_urls_is_kept_for_every_call_reads_included() -> None:
    """Behind a gateway (`https://host/gateway` as the pod and agent URL), every request,
    the datafeed's reads included (whose URL symbot builds once per feed), keeps the prefix."""
    emu = Emulator()
    emu.add_user("alice")
    gateway_url = f"{emu.base_url}/gateway"
    urls = ("pod_url", "agent_url", "key_manager_url", "session_auth_url")
    config = fast(in_process_config(emu, "bot", **dict.fromkeys(urls, gateway_url)))
    paths: list[str] = []

    async def gateway(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            paths.append(scope["path"])
            inner = scope["path"].removeprefix("/gateway")
            scope = {**scope, "path": inner, "raw_path": inner.encode()}
        await emu.app(scope, receive, send)

    bot = Echo(config, transport=httpx.ASGITransport(app=gateway))
    im = emu.create_im("alice", "bot")
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        with anyio.fail_after(10):
            await bot.started.wait()
        emu.send("alice", im, "through the gateway")
        await eventually(lambda: any(m.sender == "bot" for m in emu.sent_messages()))
        await bot.stop()
    [reply] = [m for m in emu.sent_messages() if m.sender == "bot"]
    assert reply.text == "through the gateway"
    assert any(path.endswith("/read") for path in paths)
    assert all(path.startswith("/gateway/") for path in paths), paths
