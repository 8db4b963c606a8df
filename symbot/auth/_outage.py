"""Maintenance windows: re-logins refused with credentials that worked before.

While a pod is maintained its components restart and answer oddly: a Key Manager refusing
a login with 400 "Not allowed to make this call when KeyManager is not registered in the
pod", a pod answering 503. A refusal at the *first* login is configuration and stays fatal;
a refusal at a *re-login*, with credentials that worked before, is an `Outage`: the session
retries with the capped backoff of its retry policy, logs at ERROR with the server's words at
each escalation (attempts 1, 2, 4, 8, ... and whenever the words change), never at every
attempt, reports itself through `SessionHealth`, and gives up only after the deployer's
`relogin_give_up_after` (never, by default).
"""

from __future__ import annotations

import logging
import time
from typing import Literal

import anyio
from attrs import frozen

from symbot.config import RetryPolicy
from symbot.errors import AuthenticationError, redact

__all__ = ["Outage", "SessionHealth", "SessionState", "what_failed"]

logger = logging.getLogger("symbot.auth")

SessionState = Literal["not logged in", "ok", "unavailable", "failed"]


@frozen(kw_only=True)
class SessionHealth:
    """What a health check reads from `AuthSession.health`.

    `state`: "not logged in" (no login yet), "ok", "unavailable" (re-logins are being refused
    or failing: a maintenance window is being ridden out, the current tokens may be dead),
    or "failed" (the last login failed for good: credentials refused at the first login, or
    `relogin_give_up_after` reached). `since` (epoch seconds) is when the outage began, or
    when the session failed. `attempts` counts the failed attempts of the current outage,
    `last_error` says (redacted) what the servers answered, `retry_in` is the delay in
    seconds before the next attempt.
    """

    state: SessionState
    logins: int
    login_failures: int
    since: float | None = None
    attempts: int = 0
    last_error: str | None = None
    retry_in: float | None = None

    @property
    def ok(self) -> bool:
        """True when the session holds tokens and nothing is failing."""
        return self.state == "ok"


def what_failed(exc: BaseException) -> str:
    """A failed login in one line: the endpoint, the status and the server's words."""
    if isinstance(exc, AuthenticationError):
        status = "refused the connection" if exc.status is None else f"answered {exc.status}"
        said = f": {exc.server_message}" if exc.server_message else ""
        return f"{exc.endpoint} {status}{said}"
    return redact(f"{type(exc).__name__}: {exc}")


class Outage:
    """One run of failed re-logins, from the first failure until a login succeeds."""

    def __init__(self, retry: RetryPolicy, give_up_after: float | None, name: str | None) -> None:
        self.since = time.time()
        self.attempts = 0
        self.last_error: str | None = None
        self._retry = retry
        self._give_up_after = give_up_after
        self._name = f"{name}: " if name else ""
        self._started = time.monotonic()
        self._next_attempt = self._started
        self._logged: str | None = None

    def failed(self, exc: BaseException) -> bool:
        """Record a failed attempt and plan the next one; False when the deployer's limit
        is reached (the caller then raises)."""
        self.attempts += 1
        self.last_error = said = what_failed(exc)
        elapsed = time.monotonic() - self._started
        if self._give_up_after is not None and elapsed >= self._give_up_after:
            logger.error(
                "%sre-login still failing after %d attempts over %.0f s; giving up "
                "(relogin_give_up_after = %g s): %s",
                self._name,
                self.attempts,
                elapsed,
                self._give_up_after,
                said,
            )
            return False
        delay = self._retry.backoff(self.attempts)
        if self._give_up_after is not None:
            delay = min(delay, max(0.0, self._give_up_after - elapsed))
        self._next_attempt = time.monotonic() + delay
        if said != self._logged or self.attempts & (self.attempts - 1) == 0:
            self._logged = said
            logger.error(
                "%sre-login failed (%s); the credentials worked before, so this looks like "
                "maintenance: retrying with backoff (attempt %d, next in %.1f s%s)",
                self._name,
                said,
                self.attempts,
                delay,
                ""
                if self._give_up_after is None
                else f", giving up after {self._give_up_after:g} s",
            )
        return True

    def final_error(self, exc: Exception) -> Exception:
        """What the session raises when it gives up: a refusal says it had worked before."""
        if not isinstance(exc, AuthenticationError) or self._give_up_after is None:
            return exc
        return AuthenticationError(
            exc.username,
            exc.endpoint,
            exc.status,
            f"re-logins kept failing for {time.monotonic() - self._started:.0f} s after the "
            f"credentials had worked, and symbot gave up (relogin_give_up_after = "
            f"{self._give_up_after:g} s): the service may still be under maintenance, or the "
            f"account changed; check {exc.hint}",
            server_message=exc.server_message,
        )

    def retry_in(self) -> float:
        return max(0.0, self._next_attempt - time.monotonic())

    async def wait_turn(self) -> None:
        """Sleep until the next attempt is due (cancellable: the plan survives)."""
        delay = self.retry_in()
        if delay > 0:
            await anyio.sleep(delay)

    def recovered(self) -> None:
        logger.warning(
            "%sre-login succeeded after %d failed attempt(s) over %.0f s; resuming",
            self._name,
            self.attempts,
            time.monotonic() - self._started,
        )

    def health(self, logins: int, login_failures: int) -> SessionHealth:
        return SessionHealth(
            state="unavailable",
            logins=logins,
            login_failures=login_failures,
            since=self.since,
            attempts=self.attempts,
            last_error=self.last_error,
            retry_in=self.retry_in(),
        )
