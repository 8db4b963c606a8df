"""The sections of a bot's configuration: timeouts, the datafeed, how the bot dispatches,
the limits on what it reads, and the health endpoint.

Each is a frozen attrs class whose validators name the configuration key that is wrong.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

import httpx
from attrs import field, frozen

from symbot.config._checks import at_least, boolean, integer_at_least, seconds
from symbot.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_ANSWER_BYTES",
    "MAX_TAG_LENGTH",
    "ROLES",
    "BotSettings",
    "DatafeedConfig",
    "HealthConfig",
    "Limits",
    "Role",
    "Timeouts",
]

Role = Literal["pod", "agent", "key_manager", "session_auth"]
ROLES: tuple[Role, ...] = ("pod", "agent", "key_manager", "session_auth")

MAX_TAG_LENGTH = 100
"""The agent refuses a longer datafeed tag (agent-api-public.yaml, V5DatafeedCreateBody)."""


def _check_tag(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            "datafeed.tag", "must be a non-empty string", "remove it to use symbot-<username>"
        )
    if len(value) > MAX_TAG_LENGTH:
        raise ConfigError(
            "datafeed.tag",
            f"is {len(value)} characters long; the agent accepts at most {MAX_TAG_LENGTH}",
            "use a shorter tag",
        )


@frozen(kw_only=True)
class Timeouts:
    """Seconds. `connect` for every role; the others are each role's read timeout. The agent's
    must exceed the datafeed long-poll (~30 s)."""

    connect: float = field(default=10.0, validator=seconds("timeouts.connect"))
    pod: float = field(default=30.0, validator=seconds("timeouts.pod"))
    agent: float = field(default=45.0, validator=seconds("timeouts.agent"))
    key_manager: float = field(default=30.0, validator=seconds("timeouts.key_manager"))
    session_auth: float = field(default=30.0, validator=seconds("timeouts.session_auth"))

    def for_role(self, role: Role) -> httpx.Timeout:
        read: float = getattr(self, role)
        return httpx.Timeout(read, connect=self.connect)


@frozen(kw_only=True)
class DatafeedConfig:
    """The datafeed loop's settings. `tag` defaults to `symbot-<username>` (`tag_for`).

    `visibility_timeout` is the agent's delay (s) before it re-queues a batch that was not
    acknowledged; set it to your agent's. A batch whose handlers take longer is logged as a
    warning and counted in `Bot.stats.slow_batches`, since another instance may get it again."""

    tag: str | None = field(default=None, validator=_check_tag)
    read_timeout: float = field(default=45.0, validator=seconds("datafeed.read_timeout"))
    visibility_timeout: float = field(
        default=30.0, validator=seconds("datafeed.visibility_timeout")
    )
    include_invisible: bool = field(default=False, validator=boolean("datafeed.include_invisible"))
    delete_stale_on_403: bool = field(
        default=True, validator=boolean("datafeed.delete_stale_on_403")
    )

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
        validator=integer_at_least("limits.max_answer_bytes", 65_536),
    )


@frozen(kw_only=True)
class BotSettings:
    """How the bot dispatches events and sends messages."""

    concurrency: int = field(default=64, validator=integer_at_least("bot.concurrency", 1))
    dedupe_cache_size: int = field(
        default=10_000, validator=integer_at_least("bot.dedupe_cache_size", 0)
    )
    ignore_own_messages: bool = field(default=True, validator=boolean("bot.ignore_own_messages"))
    mention_required_in_rooms: bool = field(
        default=True, validator=boolean("bot.mention_required_in_rooms")
    )
    stop_timeout: float = field(default=10.0, validator=seconds("bot.stop_timeout", zero=True))
    send_rate_per_stream: float | None = field(
        default=None, validator=at_least("bot.send_rate_per_stream", 0)
    )


_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def _check_port(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(
            "health.port",
            f"expected a TCP port (0 to 65535), got {value!r}",
            "set a free port such as 9102, or remove it to serve no health endpoint",
        )


def _check_host(_instance: Any, _attribute: Any, value: Any) -> None:
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return
        except ValueError:
            if _HOSTNAME.fullmatch(value):
                return
    raise ConfigError(
        "health.host",
        f"expected an address or host name to listen on, got {value!r}",
        'use "127.0.0.1" (this machine only) or "0.0.0.0" (every interface, e.g. in a container)',
    )


@frozen(kw_only=True)
class HealthConfig:
    """The health and metrics endpoint (`/healthz`, `/readyz`, `/metrics`): served while the
    bot serves when `port` is set (0: any free port), on `host`, loopback by default.

    `max_read_age` (s): the bot is ready only while its datafeed completed a read within that
    time. An idle feed completes one read per long-poll (about 30 s), so it must exceed
    `datafeed.read_timeout`; `BotConfig` checks that."""

    port: int | None = field(default=None, validator=_check_port)
    host: str = field(default="127.0.0.1", validator=_check_host)
    max_read_age: float = field(default=120.0, validator=seconds("health.max_read_age"))
