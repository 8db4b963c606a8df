"""Helpers for the bot tests: fast retries, a recording bot, raw events."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from attrs import evolve

from symbot.auth import RsaJwtAuth
from symbot.bot import Bot
from symbot.config import BotConfig, RetryPolicy
from symbot.datafeed import Event
from symbot.emulator import Emulator
from symbot.testing import in_process_config

# Backoff in milliseconds; a server's Retry-After (tests send up to 0.2 s) honoured whole.
FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05, max_attempts=4, max_retry_after=1.0)

_ids = itertools.count(1)


def refused_config(emu: Emulator) -> BotConfig:
    """A configuration of the user "bot" whose login the emulator refuses: it signs with
    the key of another user."""
    emu.add_user("bot")
    stranger = emu.add_user("stranger")
    assert stranger.private_key_pem is not None
    config = in_process_config(emu, "bot")
    return evolve(config, auth=RsaJwtAuth(username="bot", private_key=stranger.private_key_pem))


def fast(config: BotConfig) -> BotConfig:
    """Back off in milliseconds, so fault tests run quickly."""
    return evolve(config, retry=FAST_RETRY)


class RecordingBot(Bot):
    """Records every handler failure it hears of through `on_error`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[tuple[Exception, Event]] = []

    async def on_error(self, exc: Exception, event: Event) -> None:
        self.errors.append((exc, event))


def message_event(v4_message: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A MESSAGESENT V4Event wrapping `v4_message` (as `Emulator.send` returns it)."""
    return {
        "id": event_id or f"evt-{next(_ids)}",
        "messageId": v4_message["messageId"],
        "timestamp": v4_message["timestamp"],
        "type": "MESSAGESENT",
        "initiator": {"user": v4_message["user"]},
        "payload": {"messageSent": {"message": v4_message}},
    }


def offstage_message(emu: Emulator, as_user: str, text: str) -> dict[str, Any]:
    """A stored V4Message from `as_user` in an IM the bot is not in, so its own MESSAGESENT
    reaches nobody's feed; tests then inject copies of it with chosen event ids."""
    if "bystander" not in {user.username for user in emu.directory}:
        emu.add_user("bystander", public_key_pem=emu.user(as_user).public_key_pem)
    stream_id = emu.create_im(as_user, "bystander")
    return emu.send(as_user, stream_id, text)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until `condition()` holds (checked every 10 ms); TimeoutError after `timeout`."""
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 - the emulator has no change hook
            await anyio.sleep(0.01)
