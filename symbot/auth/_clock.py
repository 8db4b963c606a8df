"""The server's clock, as far as symbot can tell: our time plus a measured offset.

A pod whose clock is minutes off ours refuses every login JWT (Symphony wants its `exp`
between the server's now and five minutes later), and makes every time it announces
(an access token's `exp`, an extension app's `expireAt`) wrong by as much. `ServerClock`
measures the offset from what the servers send: the `Date` header of their answers
(RFC 9110, one-second resolution) and the `iat` of the JWTs they sign. Offsets under
`TOLERANCE` are noise and count as none; larger ones are logged once at WARNING with the
measured value, and symbot plans on the server's clock from then on: login JWTs are built
on `now()`, announced times are brought to ours with `to_local()`.

A value from the network is bounded before use: a `Date` longer than 64 characters, one
that does not parse, or an offset beyond a day (a hostile or broken answer, not a clock) is
ignored.
"""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["ServerClock"]

logger = logging.getLogger("symbot.auth")

TOLERANCE = 5.0
"""Offsets smaller than this (seconds) are measurement noise: `Date` has a one-second
resolution and answers take time to arrive."""

MAX_OFFSET = 86_400.0
"""Offsets beyond a day are not believed: such an answer is broken, not a clock."""

_REWARN = 60.0  # a later offset this far from the one warned about is a new clock jump


class ServerClock:
    """Our estimate of the servers' clock; one per deployment (`SymphonyClient` makes it and
    hands it to the provider and the session)."""

    def __init__(self) -> None:
        self.offset = 0.0
        """Seconds the servers' clock is ahead of ours (negative: behind); 0 when in sync."""
        self._warned: float | None = None

    def now(self) -> float:
        """Epoch seconds on the servers' clock."""
        return time.time() + self.offset

    def to_local(self, server_time: float) -> float:
        """`server_time` (epoch seconds announced by a server) on our clock."""
        return server_time - self.offset

    def observe(self, response: httpx.Response) -> bool:
        """Measure the offset from the answer's `Date` header; True when the estimate moved."""
        date = response.headers.get("date")
        if date is None or len(date) > 64:
            return False
        try:
            server_time = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, OverflowError, IndexError):
            return False
        # `Date` is truncated to the second: the server's time lies within the next second.
        return self.observe_time(server_time + 0.5, f"the Date header of {response.url.host}")

    def observe_time(self, server_time: float, source: str) -> bool:
        """Measure the offset from a time the server just stated (a `Date`, a fresh JWT's
        `iat`); True when the estimate moved."""
        measured = server_time - time.time()
        if abs(measured) > MAX_OFFSET:
            logger.debug("ignoring an implausible server time from %s", source)
            return False
        offset = 0.0 if abs(measured) < TOLERANCE else measured
        moved = abs(offset - self.offset) >= 1.0
        self.offset = offset
        if offset and (self._warned is None or abs(offset - self._warned) > _REWARN):
            self._warned = offset
            logger.warning(
                "the server's clock is %.0f s %s this machine's (measured from %s); symbot "
                "plans on the server's clock (login JWTs, announced expiries), but fix the time "
                "synchronisation (NTP) of one of them",
                abs(offset),
                "ahead of" if offset > 0 else "behind",
                source,
            )
        return moved
