"""The emulated deployment's clock: this machine's time, plus an offset a test may set.

Real pods and bots disagree about the time more often than anyone likes (a virtual machine
resumed from a snapshot, NTP blocked by a firewall). Every part of the emulator that reads
the time for the protocol (token expiry, the login JWT's window, the `Date` header, the
`iat`/`exp` of the JWTs it signs, extension-app `expireAt`) reads it here, so
`Emulator(clock_offset=-600)` is a pod whose clock is ten minutes behind the bot's.
"""

from __future__ import annotations

import time
from email.utils import formatdate

from attrs import define

__all__ = ["EmulatorClock"]


@define
class EmulatorClock:
    """Epoch seconds on the emulated servers: `time.time() + offset` (call it)."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def http_date(self) -> str:
        """Now, as the `Date` header of an HTTP answer (RFC 9110 IMF-fixdate)."""
        return formatdate(self(), usegmt=True)
