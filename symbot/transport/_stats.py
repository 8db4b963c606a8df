"""`TransportStats`: what the wire did to a deployment's calls, for metrics and tests.

One object per bot (it outlives a `Transport`: a `Bot` hands the same one to each serving),
counted where it happens: `send_with_retry` counts every retry and every malformed answer
of the calls it sends, and the datafeed loop counts its own backoffs into the same object.
"""

from __future__ import annotations

from typing import Final

from attrs import Factory, define

__all__ = [
    "MALFORMED_ANSWER",
    "NETWORK",
    "RATE_LIMITED",
    "SERVER_ERROR",
    "TransportStats",
]

SERVER_ERROR: Final = "server_error"
"""A 5xx answer."""
RATE_LIMITED: Final = "rate_limited"
"""A 429 answer."""
NETWORK: Final = "network"
"""No answer: a refused or dropped connection, a timeout, a TLS error met while reading."""
MALFORMED_ANSWER: Final = "malformed_answer"
"""An answer that could not be used: too large, not JSON, too deep, the wrong shape."""


@define
class TransportStats:
    """`retries` counts the calls tried again after a wait, by why (the kinds above, and
    the datafeed's own: "unauthorized", "too_many_feeds", "feed_gone"); `malformed_answers`
    counts answers that could not be used, whether retried or not."""

    retries: dict[str, int] = Factory(dict)
    malformed_answers: int = 0

    def retried(self, kind: str) -> None:
        """Count one retry of `kind`."""
        self.retries[kind] = self.retries.get(kind, 0) + 1
