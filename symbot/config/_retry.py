"""The retry policy: how long to wait between attempts, and how many attempts to make.

It is configuration (`[retry]` in symbot.toml); `symbot.transport` applies it to HTTP calls.
"""

from __future__ import annotations

import random

from attrs import field, frozen

from symbot.config._checks import at_least, fraction, seconds
from symbot.errors import ConfigError

__all__ = ["RetryPolicy"]


def _check_attempts(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(
            "retry.max_attempts",
            f"must be >= 1 or unset (retry forever), got {value!r}",
            "use e.g. 5",
        )


@frozen
class RetryPolicy:
    """How long to wait between attempts, and how many attempts to make.

    `backoff(n)` after the n-th failed attempt is `min(maximum, initial * multiplier**(n-1))`,
    shortened by a random fraction of up to `jitter` (so many clients do not retry in step),
    and never shorter than a server's `Retry-After`. `max_attempts=None` retries forever
    (the datafeed loop); HTTP calls use the finite default.

    `max_retry_after` caps how long a server's `Retry-After` may make symbot wait (None: as
    long as `maximum`): a server (or a proxy) asking for a billion seconds must not stall a
    bot for good. `retry_after_cap` is the cap in effect.
    """

    initial: float = field(default=0.5, validator=seconds("retry.initial"))
    maximum: float = field(default=30.0, validator=seconds("retry.maximum"))
    multiplier: float = field(default=2.0, validator=at_least("retry.multiplier", 1, strict=False))
    jitter: float = field(default=0.5, validator=fraction("retry.jitter", "0.5"))
    max_attempts: int | None = field(default=5, validator=_check_attempts)
    max_retry_after: float | None = field(default=None, validator=seconds("retry.max_retry_after"))

    @property
    def retry_after_cap(self) -> float:
        """The longest wait a `Retry-After` may impose, in seconds."""
        return self.maximum if self.max_retry_after is None else self.max_retry_after

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        try:
            base = min(self.maximum, self.initial * self.multiplier ** (max(attempt, 1) - 1))
        except OverflowError:
            base = self.maximum
        delay = base * (1.0 - self.jitter * random.random())
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def attempts_left(self, attempt: int) -> bool:
        """True when another attempt is allowed after `attempt` attempts."""
        return self.max_attempts is None or attempt < self.max_attempts
