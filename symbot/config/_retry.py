"""The retry policy: how long to wait between attempts, and how many attempts to make.

It is configuration (`[retry]` in symbot.toml); `symbot.transport` applies it to HTTP calls.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from attrs import field, frozen

from symbot.errors import ConfigError

__all__ = ["RetryPolicy"]


def _positive(field_name: str) -> Callable[[object, object, float], None]:
    def check(_instance: object, _attribute: object, value: float) -> None:
        if not value > 0:
            raise ConfigError(field_name, f"must be > 0, got {value!r}", "use a positive number")

    return check


def _check_jitter(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError("retry.jitter", f"must be between 0 and 1, got {value!r}", "use e.g. 0.5")


def _optional_positive(_instance: object, _attribute: object, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(
            "retry.max_retry_after",
            f"must be a number > 0 or unset (as long as retry.maximum), got {value!r}",
            "use e.g. 60",
        )
    if value == float("inf"):
        raise ConfigError(
            "retry.max_retry_after", "must be finite", "use e.g. 60, or unset it for retry.maximum"
        )


def _check_attempts(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
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

    initial: float = field(default=0.5, validator=_positive("retry.initial"))
    maximum: float = field(default=30.0, validator=_positive("retry.maximum"))
    multiplier: float = field(default=2.0, validator=_positive("retry.multiplier"))
    jitter: float = field(default=0.5, validator=_check_jitter)
    max_attempts: int | None = field(default=5, validator=_check_attempts)
    max_retry_after: float | None = field(default=None, validator=_optional_positive)

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
