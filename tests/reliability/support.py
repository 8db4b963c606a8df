"""Helpers for the reliability runs: a bot served against the loopback emulator, events
with known ids, and a recorder of what the handlers saw.

The runs are compressed: the emulator re-queues unacknowledged events after 1 s and
long-polls for 0.5 s, and the bot retries in milliseconds, forever, so a run of thousands
of events and hundreds of faults takes seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio
from attrs import evolve

from symbot.auth import RsaJwtAuth
from symbot.bot import Bot, on_message
from symbot.config import BotConfig, BotSettings, DatafeedConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.messages import Message
from symbot.testing import ServedBot

__all__ = [
    "BOT",
    "FAST_RETRY",
    "LONG_POLL_TIMEOUT",
    "VISIBILITY_TIMEOUT",
    "EventSource",
    "RecordingBot",
    "ServedBot",
    "bot_config",
    "drained",
    "wait_until",
]

BOT = "rel.bot"
FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.2, max_attempts=None)
VISIBILITY_TIMEOUT = 1.0
LONG_POLL_TIMEOUT = 0.5

B = TypeVar("B", bound=Bot)


def bot_config(emu: Emulator, username: str = BOT, **changes: Any) -> BotConfig:
    """`username` (with its generated key) against the served emulator's plain-HTTP origin,
    retrying fast and forever; `changes` are applied last."""
    key = emu.user(username).private_key_pem
    assert key is not None, f"{username} needs a generated key pair"
    config = BotConfig(
        pod_url=emu.http_url,
        auth=RsaJwtAuth(username=username, private_key=key),
        retry=FAST_RETRY,
        datafeed=DatafeedConfig(read_timeout=5.0, visibility_timeout=VISIBILITY_TIMEOUT),
        bot=BotSettings(mention_required_in_rooms=False, stop_timeout=5.0),
    )
    return evolve(config, **changes)


class RecordingBot(Bot):
    """Records the message id of every message its handler ran for, in order."""

    help_command = None

    def __init__(self, config: BotConfig) -> None:
        super().__init__(config)
        self.handled: list[str] = []

    @on_message()
    async def record(self, msg: Message) -> None:
        self.handled.append(msg.message_id)
        await self.after_record(msg)

    async def after_record(self, msg: Message) -> None:
        """Override to do more in the handler (after the id is recorded)."""


class EventSource:
    """MESSAGESENT events for one bot, with ids this source chose (`<prefix>-e<n>`, message
    `<prefix>-m<n>`), spread round-robin over `streams` IMs with the bot.

    Each IM gets one real message through `Emulator.send` as a template (create the source
    before the bot has a feed: those templates then reach nobody). Events go to the bot's
    feeds only (`inject_event(..., to=[bot])`), so the emulator's `events_dropped` counts
    only the bot's losses.
    """

    def __init__(self, emu: Emulator, *, bot: str = BOT, streams: int = 8, prefix: str = "ev"):
        self.emu = emu
        self.bot = bot
        self.prefix = prefix
        self.sent: list[str] = []
        bot_key = emu.user(bot).public_key_pem
        self.templates: list[Mapping[str, Any]] = []
        for index in range(streams):
            person = f"{prefix}.person{index}"
            emu.add_user(person, public_key_pem=bot_key)  # never logs in: no key pair needed
            stream_id = emu.create_im(bot, person)
            self.templates.append(emu.send(person, stream_id, f"template {index}"))

    def event(self, number: int) -> dict[str, Any]:
        """The event numbered `number`: its message id is `<prefix>-m<number>`."""
        template = self.templates[number % len(self.templates)]
        message = {**template, "messageId": f"{self.prefix}-m{number}"}
        return {
            "id": f"{self.prefix}-e{number}",
            "messageId": message["messageId"],
            "timestamp": template["timestamp"],
            "type": "MESSAGESENT",
            "initiator": {"user": template["user"]},
            "payload": {"messageSent": {"message": message}},
        }

    def inject(self, count: int) -> list[str]:
        """Publish the next `count` events to the bot; their message ids."""
        ids = []
        for number in range(len(self.sent), len(self.sent) + count):
            event = self.event(number)
            self.emu.inject_event(event, to=[self.bot])
            ids.append(str(event["messageId"]))
        self.sent.extend(ids)
        return ids


def drained(emu: Emulator, username: str = BOT) -> bool:
    """True when `username` has a feed and no feed of theirs holds an event, waiting or
    unacknowledged: everything that reached a feed was handled (acknowledgements follow
    handling)."""
    feeds = emu.feeds(username)
    return bool(feeds) and all(feed.pending == feed.in_flight == 0 for feed in feeds)


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
    """Wait until `condition()` holds, checking every 10 ms; fail naming `what` after
    `timeout` seconds (a guard against hangs, not a timing assertion)."""
    try:
        with anyio.fail_after(timeout):
            while not condition():  # noqa: ASYNC110 - the emulator has no change hook
                await anyio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from None
