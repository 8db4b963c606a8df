"""Helpers for the hostile-server suite: a bot served against the emulator over HTTPS, whose
fault rules answer what a broken or hostile server (or a proxy in between) would.

Every test ends the same way: `still_serving()` has a person send the bot a message and
waits until the bot handled it, so "the bot keeps serving and handles the next event" is
checked the same way everywhere. Timeouts here guard against hangs; nothing asserts a time.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from attrs import evolve

from symbot.auth import RsaJwtAuth
from symbot.bot import Bot, on_message
from symbot.config import BotConfig, BotSettings, DatafeedConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.emulator._keys import KeyPair
from symbot.messages import Message
from symbot.testing import ServedBot

__all__ = [
    "BOT",
    "CREATE",
    "FEEDS",
    "HOSTILE_RETRY",
    "KM_LOGIN",
    "PERSON",
    "POD_LOGIN",
    "READ",
    "SESSIONINFO",
    "HostileBot",
    "ServedBot",
    "faults_served",
    "hostile_config",
    "serving",
    "still_serving",
]

BOT = "hostile.bot"
PERSON = "hostile.person"
POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
SESSIONINFO = "/pod/v2/sessioninfo"
FEEDS = "/agent/v5/datafeeds$"  # the list (GET) and create (POST), not a feed's own paths
READ = r"/agent/v5/datafeeds/[^/]+/read"
CREATE = r"/agent/v4/stream/[^/]+/message/create"

HOSTILE_RETRY = RetryPolicy(initial=0.01, maximum=0.1, max_attempts=None)
"""Back off in milliseconds and never give up: only the hostile answers count, not luck."""

_words = itertools.count()


class HostileBot(Bot):
    """Records the text of every message it handled; replies "ack <text>" when asked to."""

    help_command = None

    def __init__(self, config: BotConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.handled: list[str] = []

    @on_message()
    async def record(self, msg: Message) -> None:
        self.handled.append(msg.text)
        if msg.text.startswith("reply "):
            await msg.reply(f"ack {msg.text}")


def hostile_config(emu: Emulator, key: KeyPair, **changes: Any) -> BotConfig:
    """The bot's configuration against the served emulator's HTTPS origin."""
    config = BotConfig(
        pod_url=emu.https_url,
        ca_bundle=emu.ca_bundle,
        auth=RsaJwtAuth(username=BOT, private_key=key.private_key_pem),
        retry=HOSTILE_RETRY,
        datafeed=DatafeedConfig(read_timeout=5.0),
        bot=BotSettings(mention_required_in_rooms=False, stop_timeout=5.0),
    )
    return evolve(config, **changes)


@asynccontextmanager
async def serving(key: KeyPair, **changes: Any) -> AsyncIterator[tuple[Emulator, HostileBot]]:
    """A served emulator (short long-polls) with the bot and a person, and the bot built for
    it (not yet serving: set the faults its start-up should meet, then serve it with
    `ServedBot`)."""
    async with Emulator(long_poll_timeout=0.3) as emu:
        emu.add_user(BOT, public_key_pem=key.public_key_pem)
        emu.add_user(PERSON, public_key_pem=key.public_key_pem)
        yield emu, HostileBot(hostile_config(emu, key, **changes))


async def faults_served(emu: Emulator, count: int) -> None:
    """Wait until the emulator has injected `count` faults in all (30 s: a hang guard)."""
    with anyio.fail_after(30):
        while emu.counters.faults_injected < count:  # noqa: ASYNC110 - no change hook
            await anyio.sleep(0.01)


async def still_serving(emu: Emulator, bot: HostileBot, running: ServedBot[HostileBot]) -> None:
    """A person sends the bot a fresh message; it must be handled (within 30 s: a guard
    against a stalled bot, not a timing assertion) while `serve()` is still running."""
    text = f"still there? {next(_words)}"
    im = emu.create_im(BOT, PERSON)
    emu.send(PERSON, im, text)
    try:
        with anyio.fail_after(30):
            while text not in bot.handled:
                assert running.alive, "serve() ended"
                await anyio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"the bot did not handle {text!r}: it stalled") from None
    assert running.alive, "serve() ended"
