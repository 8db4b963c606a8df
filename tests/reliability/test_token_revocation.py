"""Tokens revoked every half second while events flow: no event is lost, and each
revocation costs one login however many calls meet its 401s.

The handlers call the pod too, so after each revocation several 401s arrive together
(handlers of different streams run concurrently) beside the datafeed's own. Served
emulator on loopback, both anyio backends.
"""

from __future__ import annotations

from collections import Counter

import anyio
import pytest

from symbot.emulator import Emulator
from symbot.messages import Message

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

REVOCATIONS = 10
REVOKE_EVERY = 0.5  # seconds
TICK = 0.025  # events are published every tick
EVENTS_PER_TICK = 8  # one per stream: each batch runs several handlers at once
POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"


class PodCallingBot(RecordingBot):
    """Asks the pod who it is for every message, so revocations meet handler calls."""

    async def after_record(self, msg: Message) -> None:
        await self.client.request("pod", "GET", "/pod/v2/sessioninfo")


async def test_no_event_is_lost_and_logins_stay_single_flight_while_tokens_are_revoked() -> None:
    async with Emulator(
        visibility_timeout=VISIBILITY_TIMEOUT, long_poll_timeout=LONG_POLL_TIMEOUT
    ) as emu:
        emu.add_user(BOT)
        source = EventSource(emu, streams=EVENTS_PER_TICK)
        bot = PodCallingBot(bot_config(emu))
        async with ServedBot(bot) as served:
            ticks_per_revocation = round(REVOKE_EVERY / TICK)
            for tick in range(1, REVOCATIONS * ticks_per_revocation + 1):
                source.inject(EVENTS_PER_TICK)
                await anyio.sleep(TICK)
                if tick % ticks_per_revocation == 0:
                    emu.revoke_tokens(BOT)
            await wait_until(
                lambda: len(bot.handled) >= len(source.sent) or not served.alive,
                60,
                "every event",
            )
            await wait_until(lambda: drained(emu), 30, "the feed to have nothing left")
            assert served.alive, "the bot stopped serving"

        duplicates = [mid for mid, seen in Counter(bot.handled).items() if seen > 1]
        assert duplicates == []
        assert set(bot.handled) == set(source.sent)
        assert emu.counters.unauthorized > 0
        # Single flight: one login to start, then at most one per revocation, plus the
        # datafeed's forced re-logins (a 401 that outlived the replay, when the tokens were
        # revoked again between refresh and replay). Without it, every concurrent 401 would
        # log in on its own.
        pod_logins = emu.counters.logins[POD_LOGIN]
        assert 1 < pod_logins <= 1 + REVOCATIONS + bot.feed_stats.auth_refreshes
        assert emu.counters.logins[KM_LOGIN] == pod_logins
