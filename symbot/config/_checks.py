"""Validators of configuration values, each naming the configuration key and the fix.

They run when a configuration object is built (from Python, a file or the environment), so
a value that would fail later fails there, once, as a `ConfigError`. Numbers must be real
numbers (a boolean is not one) and finite: `nan` and `inf` are valid TOML and valid
`float()` input, and either would stall or break a bot much later.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from symbot.errors import ConfigError

__all__ = [
    "MAX_SECONDS",
    "Check",
    "at_least",
    "boolean",
    "fraction",
    "integer_at_least",
    "number",
    "seconds",
]

MAX_SECONDS = 30 * 24 * 3600.0
"""The longest duration a setting may name: 30 days. Longer ones are typing mistakes, and
the largest would overflow the timers of the OS or the event loop long after start-up."""

Check = Callable[[Any, Any, Any], None]


def number(name: str, value: object, *, integer: bool = False) -> float:
    """`value` as a finite number (an `int` when `integer`), or a `ConfigError`."""
    kind = "an integer" if integer else "a number"
    valid = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, valid):
        shown = type(value).__name__
        raise ConfigError(name, f"expected {kind}, got {shown} {value!r}", f"write {kind}")
    if not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number, got {value!r}", f"write {kind}")
    return value


def at_least(name: str, minimum: float, *, strict: bool = True, integer: bool = False) -> Check:
    """A number `> minimum` (`>=` when not `strict`); None passes (an unset optional key)."""

    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is None:
            return
        found = number(name, value, integer=integer)
        if found < minimum or (strict and found == minimum):
            bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
            raise ConfigError(name, f"must be {bound}, got {value!r}", f"use a value {bound}")

    return check


def seconds(name: str, *, zero: bool = False) -> Check:
    """A duration: more than 0 seconds (or 0 itself when `zero`), at most `MAX_SECONDS`;
    None passes (an unset optional key)."""
    positive = at_least(name, 0, strict=not zero)

    def check(instance: Any, attribute: Any, value: Any) -> None:
        positive(instance, attribute, value)
        if value is not None and value > MAX_SECONDS:
            raise ConfigError(
                name,
                f"must be at most {MAX_SECONDS:.0f} seconds (30 days), got {value!r}",
                "give the duration in seconds",
            )

    return check


def integer_at_least(name: str, minimum: int) -> Check:
    """An integer `>= minimum`."""
    return at_least(name, minimum, strict=False, integer=True)


def fraction(name: str, example: str) -> Check:
    """A fraction in [0, 1): a random part of a wait taken off it. 1 would allow a wait of
    zero, so a failing call could be retried in a tight loop."""

    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        found = number(name, value)
        if not 0 <= found < 1:
            raise ConfigError(
                name, f"must be between 0 and 1 (1 excluded), got {value!r}", f"use e.g. {example}"
            )

    return check


def boolean(name: str) -> Check:
    """`True` or `False`, nothing else (a string "false" is true in Python)."""

    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise ConfigError(name, f"expected true or false, got {value!r}", "write true or false")

    return check
