"""The sections of a bot's configuration: timeouts, the datafeed, how the bot dispatches.

Each is a frozen attrs class whose validators name the configuration key that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import httpx
from attrs import field, frozen

from symbot.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_ANSWER_BYTES",
    "ROLES",
    "BotSettings",
    "DatafeedConfig",
    "Limits",
    "Role",
    "Timeouts",
    "at_least",
]

Role = Literal["pod", "agent", "key_manager", "session_auth"]
ROLES: tuple[Role, ...] = ("pod", "agent", "key_manager", "session_auth")


def at_least(name: str, minimum: float, *, strict: bool = True) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(name, f"expected a number, got {value!r}", "write a number")
        if value < minimum or (strict and value == minimum):
            bound = f"> {minimum}" if strict else f">= {minimum}"
            raise ConfigError(name, f"must be {bound}, got {value!r}", f"use a value {bound}")

    return check


@frozen(kw_only=True)
class Timeouts:
    """Seconds. `connect` for every role; the others are each role's read timeout. The agent's
    must exceed the datafeed long-poll (~30 s)."""

    connect: float = field(default=10.0, validator=at_least("timeouts.connect", 0))
    pod: float = field(default=30.0, validator=at_least("timeouts.pod", 0))
    agent: float = field(default=45.0, validator=at_least("timeouts.agent", 0))
    key_manager: float = field(default=30.0, validator=at_least("timeouts.key_manager", 0))
    session_auth: float = field(default=30.0, validator=at_least("timeouts.session_auth", 0))

    def for_role(self, role: Role) -> httpx.Timeout:
        read: float = getattr(self, role)
        return httpx.Timeout(read, connect=self.connect)


@frozen(kw_only=True)
class DatafeedConfig:
    """The datafeed loop's settings. `tag` defaults to `symbot-<username>` (`tag_for`).

    `visibility_timeout` is the agent's delay (s) before it re-queues a batch that was not
    acknowledged; set it to your agent's. A batch whose handlers take longer is logged as a
    warning and counted in `Bot.stats.slow_batches`, since another instance may get it again."""

    tag: str | None = None
    read_timeout: float = field(default=45.0, validator=at_least("datafeed.read_timeout", 0))
    visibility_timeout: float = field(
        default=30.0, validator=at_least("datafeed.visibility_timeout", 0)
    )
    include_invisible: bool = False
    delete_stale_on_403: bool = True

    def tag_for(self, username: str) -> str:
        return self.tag or f"symbot-{username}"


DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""32 MiB. The largest answer symbot reads is a datafeed batch. A Symphony message holds at
most 81,130 characters of content and 40 entities; as a V4Event, its PresentationML and its
EntityJSON JSON-escaped, the largest takes about 300 KB. 32 MiB holds a hundred of those, a
full read of the largest messages, with room to spare, while a bot's memory stays safe."""


@frozen(kw_only=True)
class Limits:
    """Bounds on what symbot accepts from the network.

    `max_answer_bytes` caps the body of every successful answer, after decompression; a
    larger one is a malformed answer (`symbot.errors.MalformedAnswerError`), retried like a
    5xx, and symbot stops reading it at the cap. Error answers are only read for their
    message: their first 64 KiB."""

    max_answer_bytes: int = field(
        default=DEFAULT_MAX_ANSWER_BYTES,
        validator=at_least("limits.max_answer_bytes", 65_536, strict=False),
    )


@frozen(kw_only=True)
class BotSettings:
    """How the bot dispatches events and sends messages."""

    concurrency: int = field(default=64, validator=at_least("bot.concurrency", 1, strict=False))
    dedupe_cache_size: int = field(
        default=10_000, validator=at_least("bot.dedupe_cache_size", 0, strict=False)
    )
    ignore_own_messages: bool = True
    mention_required_in_rooms: bool = True
    stop_timeout: float = field(
        default=10.0, validator=at_least("bot.stop_timeout", 0, strict=False)
    )
    send_rate_per_stream: float | None = field(
        default=None, validator=at_least("bot.send_rate_per_stream", 0)
    )
