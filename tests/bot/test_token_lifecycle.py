"""The token lifecycle Symphony defines, as a bot lives it: sessions that expire unannounced
cost one re-login each and lose no reply; a maintenance window that refuses re-logins is
ridden out without a restart; a refusal at the first login stays fatal.

Time is scaled: one "hour" of a pod's session policy lasts `HOUR` seconds here.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import anyio
import pytest
from attrs import evolve

from symbot.bot import Bot, on_message
from symbot.config import RetryPolicy
from symbot.emulator import Emulator
from symbot.errors import AuthenticationError
from symbot.messages import Message
from symbot.testing import BotHarness

from .support import FAST_RETRY

pytestmark = pytest.mark.anyio

POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
MESSAGE_CREATE = r"/agent/v4/stream/[^/]+/message/create"
HOUR = 0.2  # seconds: one hour of session lifetime, scaled down
KM_NOT_REGISTERED = "Not allowed to make this call when KeyManager is not registered in the pod"
MAINTENANCE_RETRY = RetryPolicy(initial=0.02, maximum=0.1, max_attempts=2)


class EchoBot(Bot):
    @on_message()
    async def echo(self, msg: Message) -> None:
        await msg.reply(msg.text)


class TimedEchoBot(Bot):
    """Echoes, and records how long each reply waited to be sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waits: list[float] = []

    @on_message()
    async def echo(self, msg: Message) -> None:
        started = anyio.current_time()
        await msg.reply(msg.text)
        self.waits.append(anyio.current_time() - started)


async def test_a_simulated_day_of_one_hour_sessions_costs_one_login_pair_per_expiry() -> None:
    """Sessions of one (scaled) hour that no answer announces, steady traffic for a day:
    about 24 pod + 24 Key Manager logins (one per expiry, however many calls met its 401s),
    every reply sent, and no call waiting on anything but that one login (no login failed,
    no read needed more than the auth flow's own replay), so no handler waits half a
    second (the issue's bound; a reply that meets an expiry waits ~10 ms here)."""
    emu = Emulator(
        session_token_lifetime=HOUR, km_token_lifetime=HOUR, authorization_token_lifetime=HOUR / 12
    )
    async with BotHarness(TimedEchoBot, emulator=emu) as h:
        streams = [h.im(name) for name in ("alice", "bob", "carol")]
        started = anyio.current_time()
        sent = 0
        while anyio.current_time() - started < 24 * HOUR:
            for number, stream in enumerate(streams):
                await h.say(("alice", "bob", "carol")[number], stream, f"message {sent}")
                sent += 1
            await anyio.sleep(HOUR / 20)
        day = anyio.current_time() - started
        await h.wait_until(lambda: sum(len(h.replies(s)) for s in streams) == sent, timeout=20)
        session = h.bot.client.session
        assert session.login_failures == 0
        assert h.bot.feed_stats.auth_refreshes == 0  # every 401 was answered by one replay
        assert h.bot.feed_stats.failed_reads == 0
        assert max(h.bot.waits) < 0.5, sorted(h.bot.waits)[-5:]
    pod, km = emu.counters.logins[POD_LOGIN], emu.counters.logins[KM_LOGIN]
    expiries = math.ceil(day / HOUR)
    assert pod == km == session.logins
    assert 20 <= pod <= expiries + 1, (pod, expiries)
    assert sent > 24 * 20


async def test_a_maintenance_window_is_ridden_out_and_the_next_event_handled_without_restart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tokens revoked, then the Key Manager refuses every re-login for a while, as during a
    maintenance window (the Java BDK froze for good here; symbot used to end serve()). The
    re-login is retried with backoff, logged at ERROR with the server's words at each
    escalation (not at every attempt), shown by the session's health; once the Key Manager
    accepts again, the message sent meanwhile is answered, by the same serve()."""
    emu = Emulator()
    with caplog.at_level(logging.INFO, logger="symbot"):
        async with BotHarness(
            EchoBot, emulator=emu, configure=lambda c: evolve(c, retry=MAINTENANCE_RETRY)
        ) as h:
            im = h.im("alice")
            await h.say("alice", im, "before")
            assert (await h.next_reply(im)).text == "before"
            session = h.bot.client.session
            assert session.health.ok

            emu.fault(KM_LOGIN, status=400, message=KM_NOT_REGISTERED, probability=1.0)
            emu.revoke_tokens("bot")
            await h.say("alice", im, "during")
            await h.wait_until(lambda: session.health.attempts >= 12, timeout=30)
            health = session.health
            assert health.state == "unavailable"
            assert KM_NOT_REGISTERED in (health.last_error or "")
            assert health.since is not None
            assert h.replies(im)[-1].text == "before"  # nothing sent while the KM refuses

            emu.clear_faults()
            assert (await h.next_reply(im, timeout=10)).text == "during"
            assert session.health.ok
            await h.say("alice", im, "after")
            assert (await h.next_reply(im)).text == "after"
            attempts = emu.counters.faults_injected
    escalations = [
        r for r in caplog.records if r.levelno == logging.ERROR and "re-login failed" in r.message
    ]
    assert escalations
    assert all(KM_NOT_REGISTERED in r.message for r in escalations)
    assert len(escalations) <= math.log2(attempts) + 2 < attempts
    assert any("re-login succeeded after" in r.message for r in caplog.records)


async def test_a_deployer_limit_ends_serve_once_relogins_kept_failing_that_long() -> None:
    emu = Emulator()

    async def maintenance_that_never_ends() -> None:
        async with BotHarness(
            EchoBot,
            emulator=emu,
            configure=lambda c: evolve(c, retry=MAINTENANCE_RETRY, relogin_give_up_after=0.3),
        ) as h:
            im = h.im("alice")
            emu.fault(KM_LOGIN, status=400, message=KM_NOT_REGISTERED, probability=1.0)
            emu.revoke_tokens("bot")
            await h.say("alice", im, "during")
            with anyio.fail_after(20):
                await anyio.sleep_forever()

    refusals: list[Exception] = []
    try:
        await maintenance_that_never_ends()
    except* AuthenticationError as crash:  # serve() ended; the harness reports it as a group
        refusals += crash.exceptions
    assert refusals
    assert all(KM_NOT_REGISTERED in str(refused) for refused in refusals)
    assert all("symbot gave up (relogin_give_up_after = 0.3 s)" in str(r) for r in refusals)
    assert emu.counters.faults_injected >= 2


async def test_a_refusal_at_the_first_login_stays_fatal_after_one_attempt() -> None:
    emu = Emulator()
    emu.fault(KM_LOGIN, status=400, message=KM_NOT_REGISTERED, probability=1.0)
    with pytest.raises(AuthenticationError, match="KeyManager is not registered"):
        async with BotHarness(
            EchoBot, emulator=emu, configure=lambda c: evolve(c, retry=FAST_RETRY)
        ):
            pass
    assert emu.counters.faults_injected == 1
