"""`/metrics` over real HTTP: valid Prometheus text that counts what happened to the bot —
events, handlers and their latency, logins by reason, 401s, feed recreations, retries by
kind, malformed answers and events — each figure read from where symbot counts it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from symbot import Bot, Message, RetryPolicy, command, on_message
from symbot.emulator import Emulator
from symbot.errors import NotFoundError

from .support import health_harness, scrape, until_readiness

pytestmark = pytest.mark.anyio

USERS = "/pod/v3/users"
OPERATING = Path(__file__).resolve().parent.parent.parent / "docs" / "operating.md"
PATIENT = RetryPolicy(initial=0.01, maximum=0.05, max_attempts=6)  # outlasts four faults


class MetricsBot(Bot):
    @on_message(contains="hello")
    async def greet(self, msg: Message) -> None:
        await msg.reply("hi")

    @on_message(contains="boom")
    async def explode(self, msg: Message) -> None:
        raise RuntimeError("the handler failed")

    @command("/whois")
    async def whois(self, msg: Message, username: str) -> None:
        try:
            user = await self.users.get_by_username(username)
        except NotFoundError:
            await msg.reply("nobody")
            return
        await msg.reply(str(user.user_id))


async def test_metrics_count_what_happened() -> None:
    emu = Emulator(long_poll_timeout=0.05)
    async with health_harness(MetricsBot, emulator=emu, retry=PATIENT) as h:
        await until_readiness(h.bot, 200)
        im = h.im("alice")
        alice = h.user("alice")

        await h.say("alice", im, "hello")
        await h.next_reply(im)
        await h.say("alice", im, "boom")

        # One lookup meets each kind of trouble once, then succeeds.
        emu.fault(USERS, status=503)
        emu.fault(USERS, status=429, retry_after=0)
        emu.fault(USERS, body="<html>not JSON</html>", content_type="text/html")
        emu.fault(USERS, drop=True)
        await h.say("alice", im, "/whois alice")
        assert (await h.next_reply(im)).text == str(alice.user_id)

        # The tokens die: the next call meets a 401, and one re-login answers it.
        emu.revoke_tokens("bot")
        await h.say("alice", im, "hello")
        await h.next_reply(im)

        # The feed is deleted: a new one is created.
        [feed] = emu.feeds("bot")
        emu.delete_feed(feed.feed_id)
        await h.wait_until(lambda: h.bot.feed_stats.feeds_created == 2)

        # A malformed event, and the same unknown event twice.
        emu.inject_event({"id": "broken-1", "type": "MESSAGESENT", "timestamp": 1}, to=["bot"])
        unknown = {"id": "new-1", "type": "SOMETHINGNEW", "timestamp": 1}
        emu.inject_event(unknown, to=["bot"])
        emu.inject_event(unknown, to=["bot"])
        await h.wait_until(lambda: h.bot.stats.duplicates_dropped == 1)
        await h.wait_until(lambda: h.bot.stats.malformed_events == 1)

        found = await scrape(h.bot)

    assert found.value("symbot_ready") == 1
    assert found.value("symbot_handler_calls_total") == 4
    assert found.value("symbot_handler_errors_total") == 1
    assert found.value("symbot_events_handled_total") == 5  # 4 messages and the unknown event
    assert found.value("symbot_events_duplicate_total") == 1
    assert found.value("symbot_events_malformed_total") == 1
    assert found.value("symbot_datafeed_events_read_total") >= 8
    calls = found.values("symbot_handler_duration_seconds_count", "handler")
    assert calls == {"MetricsBot.greet": 2, "MetricsBot.explode": 1, "MetricsBot.whois": 1}
    assert found.value("symbot_handler_duration_seconds_sum", handler="MetricsBot.whois") > 0

    assert found.values("symbot_logins_total", "reason") == {"first login": 1, "after a 401": 1}
    assert found.value("symbot_login_failures_total") == 0
    assert found.value("symbot_unauthorized_total") >= 1
    assert found.values("symbot_session_state", "state") == {
        "not logged in": 0, "ok": 1, "unavailable": 0, "failed": 0
    }  # fmt: skip

    assert found.value("symbot_datafeed_feeds_created_total") == 2
    assert found.values("symbot_retries_total", "kind") == {
        "server_error": 1, "rate_limited": 1, "malformed_answer": 1, "network": 1
    }  # fmt: skip
    assert found.value("symbot_malformed_answers_total") == 1

    documented = re.findall(r"^\| `(symbot_[a-z_]+)` \|", OPERATING.read_text(), re.MULTILINE)
    assert sorted(found.families) == sorted(documented), "docs/operating.md lists the metrics"


async def test_the_datafeeds_own_retries_and_malformed_reads_count_too() -> None:
    """A read answered 503, one answered with a body that is not a read's, and one whose
    connection drops: each one retry of its kind, counted with the rest."""
    emu = Emulator(long_poll_timeout=0.05)
    async with health_harness(MetricsBot, emulator=emu) as h:
        await until_readiness(h.bot, 200)
        read = r"/agent/v5/datafeeds/[^/]+/read"
        emu.fault(read, status=503)
        emu.fault(read, body='{"events": "not a list"}')
        emu.fault(read, drop=True)
        await h.wait_until(lambda: h.bot.feed_stats.failed_reads == 3)
        found = await scrape(h.bot)
    assert found.values("symbot_retries_total", "kind") == {
        "server_error": 1, "rate_limited": 0, "malformed_answer": 1, "network": 1
    }  # fmt: skip
    assert found.value("symbot_malformed_answers_total") == 1
    assert found.value("symbot_datafeed_failed_reads_total") == 3
