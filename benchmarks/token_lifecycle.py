"""Logins over a simulated day against a pod whose sessions last one hour, by renewal policy.

A pod's session lifetime is set by its administrators (1 hour to 2 weeks) and announced by
nothing; a login answer may carry an `authorizationToken`, a short-lived access token with an
`exp` of its own (5 minutes here). The bot below answers a steady flow of messages for a
simulated day, time scaled so that one hour lasts `HOUR` seconds, three times:

- symbot's default: tokens used until a 401 (Symphony's rule), one re-login per expiry;
- `max_token_age` set a little under the pod's policy (55 minutes): renewed ahead, no 401;
- the baseline, measured in the same run: the policy symbot had before, which planned a
  full pod + Key Manager re-login ahead of the authorizationToken's `exp`.

For each: pod and Key Manager logins, the 401s served, replies lost, and the longest time a
handler waited for its reply to be sent (issue 13 wants no handler to wait more than half a
second when an expiry nobody announced is met). The emulator is in-process behind a
simulated network of `ROUND_TRIP` seconds, so a login costs what it costs on a LAN.
"""

from __future__ import annotations

import time

import anyio
from attrs import evolve

from benchmarks.auth_storm import SimulatedNetwork
from symbot import Bot, BotConfig, Message, on_message
from symbot.emulator import Emulator
from symbot.testing import in_process_config

HOUR = 0.5  # seconds: one simulated hour
DAY = 24 * HOUR
ACCESS_TOKEN = HOUR / 12  # the authorizationToken's own lifetime: five simulated minutes
ROUND_TRIP = 0.01
PEOPLE = ("alice", "bob", "carol", "dave")
SEND_EVERY = HOUR / 25
POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"


class TimedEchoBot(Bot):
    """Echoes every message and records how long each reply took to send."""

    waits: list[float]

    @on_message()
    async def echo(self, msg: Message) -> None:
        started = time.monotonic()
        await msg.reply(msg.text)
        self.waits.append(time.monotonic() - started)


async def simulated_day(max_token_age: float | None) -> tuple[int, int, int, int, float]:
    """(pod logins, KM logins, 401s, replies lost, longest handler wait in s)."""
    emu = Emulator(
        session_token_lifetime=HOUR,
        km_token_lifetime=HOUR,
        authorization_token_lifetime=ACCESS_TOKEN,
    )
    emu.add_user("bot")
    config: BotConfig = evolve(
        in_process_config(emu, "bot"),
        max_token_age=max_token_age,
        refresh_margin=HOUR / 60,  # the default minute, scaled like the hour
    )
    bot = TimedEchoBot(config, transport=SimulatedNetwork(emu.transport(), ROUND_TRIP))
    bot.waits = []
    streams = []
    for person in PEOPLE:
        emu.add_user(person, public_key_pem=emu.user("bot").public_key_pem)
        streams.append(emu.create_im("bot", person))
    sent = 0
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        await bot.started.wait()
        started = anyio.current_time()
        while anyio.current_time() - started < DAY:
            for person, stream in zip(PEOPLE, streams, strict=True):
                emu.send(person, stream, f"message {sent}")
                sent += 1
            await anyio.sleep(SEND_EVERY)
        with anyio.move_on_after(10):
            while len(bot.waits) < sent:  # noqa: ASYNC110 - the handlers have no change hook
                await anyio.sleep(0.05)
        await bot.stop()
    replies = sum(1 for m in emu.sent_messages() if m.sender == "bot")
    counters = emu.counters
    return (
        counters.logins[POD_LOGIN],
        counters.logins[KM_LOGIN],
        counters.unauthorized,
        sent - replies,
        max(bot.waits, default=0.0),
    )


async def main() -> None:
    print(
        f"A simulated day of one-hour sessions (1 h = {HOUR:g} s), steady traffic "
        f"({len(PEOPLE)} messages every {SEND_EVERY * 60 / HOUR:.1f} simulated minutes), "
        f"{ROUND_TRIP * 1000:g} ms round trip; the authorizationToken lives 5 simulated minutes"
    )
    policies = [
        ("symbot: until a 401 (default)", None),
        ("symbot: max_token_age = 55 min", HOUR * 55 / 60),
        ("baseline: renew before the authorizationToken's exp", ACCESS_TOKEN),
    ]
    header = (
        f"{'policy':<52} | {'pod':>4} | {'KM':>4} | {'401s':>5} | {'lost':>4} | {'max wait':>8}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for name, age in policies:
        pod, km, unauthorized, lost, wait = await simulated_day(age)
        results[name] = pod + km
        print(f"{name:<52} | {pod:>4} | {km:>4} | {unauthorized:>5} | {lost:>4} | {wait:>7.3f}s")
    default, baseline = results[policies[0][0]], results[policies[2][0]]
    print(
        f"logins, baseline / default: x{baseline / max(default, 1):.1f}; target: the default "
        "makes about 24 + 24 (one pair per expiry), loses nothing, and no handler waits 0.5 s"
    )


if __name__ == "__main__":
    anyio.run(main)
