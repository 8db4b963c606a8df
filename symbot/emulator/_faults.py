"""Fault injection: make chosen requests fail the way real networks and servers fail.

A rule matches a request by path (`re.match` against the URL path, so a plain path acts as
a prefix and a regex works too) and optionally by method. A matching request gets, in order:
the rule's delay, then either an error status (with `Retry-After` when given), a dropped
connection (`DropConnection`), or, for a delay-only rule, its normal answer. Faults apply
before authentication, like a proxy or load balancer in front of the real service.

A rule fires for the next `count` matching requests, or, with a `probability`, for each
matching request with that probability until `clear()` (for long reliability runs).
"""

from __future__ import annotations

import random
import re

import anyio
from attrs import define, field

from symbot.emulator._asgi import DropConnection
from symbot.emulator._http import Response, error

__all__ = ["Fault", "FaultInjector"]


@define
class Fault:
    """One injection rule; `remaining` is None for a probability rule (never exhausted)."""

    pattern: re.Pattern[str]
    method: str | None
    status: int | None
    delay: float
    drop: bool
    retry_after: float | None
    remaining: int | None
    probability: float | None
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.pattern.match(path) is not None

    def response(self) -> Response | None:
        """The injected answer, or None to let the request through (delay-only rules)."""
        if self.drop:
            raise DropConnection(f"fault injected on {self.pattern.pattern}")
        if self.status is None:
            return None
        headers = []
        if self.retry_after is not None:
            headers.append(("retry-after", f"{self.retry_after:g}"))
        said = self.message or f"fault injected by the emulator ({self.status})"
        return error(self.status, said, headers)


@define
class FaultInjector:
    """The live fault rules, consulted once per request in the order they were added."""

    rng: random.Random = field(factory=random.Random, repr=False)
    _rules: list[Fault] = field(factory=list, init=False)

    def add(
        self,
        path: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        count: int = 1,
        retry_after: float | None = None,
        method: str | None = None,
        probability: float | None = None,
        message: str | None = None,
    ) -> Fault:
        """Add a rule; ValueError naming the argument when the rule makes no sense.
        `message` is what an injected status says (Symphony's `{"code", "message"}`)."""
        if status is not None and drop:
            raise ValueError("a fault either answers a status or drops the connection, not both")
        if status is None and not drop and delay <= 0:
            raise ValueError("a fault needs status=, drop=True or a positive delay=")
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"status={status} is not an HTTP status code")
        if delay < 0:
            raise ValueError(f"delay={delay} must not be negative")
        if retry_after is not None and (status is None or retry_after < 0):
            raise ValueError("retry_after= needs a status= and must not be negative")
        if probability is not None and not 0.0 < probability <= 1.0:
            raise ValueError(f"probability={probability} must be in (0, 1]")
        if message is not None and status is None:
            raise ValueError("message= needs a status=")
        if probability is None and count < 1:
            raise ValueError(f"count={count} must be at least 1")
        try:
            pattern = re.compile(path)
        except re.error as exc:
            raise ValueError(f"fault path {path!r} is not a valid regex: {exc}") from None
        rule = Fault(
            pattern=pattern,
            method=method.upper() if method else None,
            status=status,
            delay=delay,
            drop=drop,
            retry_after=retry_after,
            remaining=None if probability is not None else count,
            probability=probability,
            message=message,
        )
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule, including probability rules."""
        self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        return list(self._rules)

    def take(self, method: str, path: str) -> Fault | None:
        """The rule that fires for this request, consuming one of its uses."""
        for rule in self._rules:
            if not rule.matches(method, path):
                continue
            if rule.probability is not None:
                if self.rng.random() < rule.probability:
                    return rule
                continue
            assert rule.remaining is not None
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            return rule
        return None

    async def apply(self, method: str, path: str) -> Response | None:
        """Run the fault for this request, if any: sleep its delay, then return the injected
        response, raise DropConnection, or return None to serve the request normally."""
        rule = self.take(method, path)
        if rule is None:
            return None
        if rule.delay > 0:
            await anyio.sleep(rule.delay)
        return rule.response()
