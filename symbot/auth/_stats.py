"""`LoginStats`: what an `AuthSession` did, for metrics, health and tests.

One object per bot (a `Bot` hands the same one to the session of each serving), counted by
the session itself: a login by its reason when it succeeds, a failure when it does not, and
every 401 its `httpx.Auth` flows see.
"""

from __future__ import annotations

from attrs import Factory, define

__all__ = ["MAX_REASONS", "LoginStats"]

MAX_REASONS = 16
"""Distinct login reasons counted apart; any further reason counts as "other" (a caller of
`refresh(reason=...)` may pass its own words, and a metric's labels must stay few)."""


@define
class LoginStats:
    """`logins` by reason ("first login", "after a 401", "renewal before expiry",
    "renewal before the announced expiry", "refresh", ...); `failures`: logins that failed,
    whatever happened next; `unauthorized`: 401 answers to requests that carried the
    session's tokens (each makes the flow refresh and replay once)."""

    logins: dict[str, int] = Factory(dict)
    failures: int = 0
    unauthorized: int = 0

    @property
    def total(self) -> int:
        """Every successful login."""
        return sum(self.logins.values())

    def logged_in(self, reason: str) -> None:
        """Count one successful login for `reason`."""
        key = reason if reason in self.logins or len(self.logins) < MAX_REASONS else "other"
        self.logins[key] = self.logins.get(key, 0) + 1
