"""AuthSession: keeps a bot's tokens valid and hands them to every request.

Three pieces, one contract:

- `tokens()` / `refresh(stale)` are **single-flight**: one login at a time, and a caller
  whose failed tokens were already replaced gets the new ones without another login —
  so 200 concurrent 401s cost exactly one pod login and one Key Manager login.
- `auth` / `pod_auth` are `httpx.Auth` flows: add the token headers, and on a 401 refresh
  *the tokens that failed* and replay the request once.
- The background refresher (`async with session:` or `run_refresher()` in your own task
  group) renews the tokens before the `authorizationToken` expires or before
  `max_token_age`, with jitter, so a healthy bot never meets a 401. A failed background
  refresh is retried with backoff while the current tokens stay in use.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator
from contextlib import asynccontextmanager

import anyio
import httpx

from symbot._lifecycle import AsyncResource
from symbot.auth._provider import AuthProvider, Tokens
from symbot.config import RetryPolicy
from symbot.errors import redact
from symbot.transport import Transport

__all__ = ["AuthSession", "TokenAuth"]

logger = logging.getLogger("symbot.auth")

_NOT_YET = object()  # "no particular tokens": refresh only if there are none


class TokenAuth(httpx.Auth):
    """The httpx.Auth flow: token headers, and one refresh-and-replay on a 401."""

    requires_request_body = False
    requires_response_body = False

    def __init__(self, session: AuthSession, *, key_manager: bool) -> None:
        self._session = session
        self._key_manager = key_manager

    def _apply(self, request: httpx.Request, tokens: Tokens) -> None:
        request.headers["sessionToken"] = tokens.session_token
        if self._key_manager:
            request.headers["keyManagerToken"] = tokens.key_manager_token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError(
            "symbot's token auth is async only: use it with httpx.AsyncClient "
            "(e.g. SymphonyClient.pod / .agent)"
        )

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        tokens = await self._session.tokens()
        self._apply(request, tokens)
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()  # small body; lets the connection be reused
        logger.debug("%s %s answered 401; refreshing tokens", request.method, request.url)
        fresh = await self._session.refresh(stale=tokens, reason="after a 401")
        self._apply(request, fresh)
        yield request


class AuthSession(AsyncResource):
    """Caches the tokens of one `AuthProvider` and keeps them fresh; the provider logs in
    through `transport`.

    `max_token_age` (seconds) bounds how long tokens are used when the pod does not say
    when they expire (no `authorizationToken`); set it below the pod's session lifetime.
    A refresh is scheduled `refresh_margin` seconds before the expiry (at most a third of
    the lifetime, so short-lived tokens work too), minus a random `jitter` fraction of the
    remaining time so many bots do not refresh in step.
    """

    def __init__(
        self,
        provider: AuthProvider,
        transport: Transport,
        *,
        max_token_age: float | None = None,
        refresh_margin: float = 60.0,
        jitter: float = 0.1,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.provider = provider
        self._transport = transport
        self.max_token_age = max_token_age
        self.refresh_margin = refresh_margin
        self.jitter = jitter
        self.retry = retry or RetryPolicy(max_attempts=None)
        self.logins = 0
        self.login_failures = 0
        self.auth: httpx.Auth = TokenAuth(self, key_manager=True)
        self.pod_auth: httpx.Auth = TokenAuth(self, key_manager=False)
        self._tokens: Tokens | None = None
        self._lock = anyio.Lock()
        self._attempts_done = 0
        self._last_error: Exception | None = None
        self._changed = anyio.Event()

    @property
    def current(self) -> Tokens | None:
        """The cached tokens, without logging in."""
        return self._tokens

    async def tokens(self) -> Tokens:
        """Valid tokens: logs in the first time, and again once a known expiry has passed."""
        tokens = self._tokens
        if tokens is None:
            return await self._single_flight(_NOT_YET, "first login")
        if tokens.expires_at is not None and time.time() >= tokens.expires_at:
            return await self._single_flight(tokens, "tokens expired")
        return tokens

    async def refresh(self, stale: Tokens | None = None, *, reason: str = "refresh") -> Tokens:
        """Replace `stale` with fresh tokens (one login for any number of callers).

        If `stale` was already replaced, the current tokens are returned without a login.
        `stale=None` forces a new login. `reason` is logged with the login.
        """
        return await self._single_flight(stale, reason)

    async def _single_flight(self, stale: object, reason: str) -> Tokens:
        ticket = self._attempts_done
        async with self._lock:
            current = self._tokens
            if current is not None and stale is not None and current is not stale:
                return current
            if self._attempts_done > ticket and self._last_error is not None:
                raise self._last_error  # a login made while we waited just failed
            return await self._login(reason)

    async def _login(self, reason: str) -> Tokens:
        started = time.monotonic()
        try:
            tokens = await self.provider.login(self._transport)
        except Exception as exc:
            self._attempts_done += 1
            self._last_error = exc
            self.login_failures += 1
            raise
        self._attempts_done += 1
        self._last_error = None
        self.logins += 1
        self._tokens = tokens
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
        logger.info(
            "logged in (login #%d: %s, %.0f ms)",
            self.logins,
            reason,
            (time.monotonic() - started) * 1000,
        )
        return tokens

    def next_refresh_in(self, tokens: Tokens, now: float | None = None) -> float | None:
        """Seconds until `tokens` should be renewed, or None when nothing says they expire."""
        deadlines = []
        if tokens.expires_at is not None and tokens.expires_at > tokens.obtained_at:
            deadlines.append(tokens.expires_at)
        if self.max_token_age is not None:
            deadlines.append(tokens.obtained_at + self.max_token_age)
        if not deadlines:
            return None
        deadline = min(deadlines)
        lifetime = deadline - tokens.obtained_at
        due = deadline - min(self.refresh_margin, lifetime / 3)
        remaining = max(0.0, due - (time.time() if now is None else now))
        return remaining * (1.0 - self.jitter * random.random())

    async def run_refresher(self) -> None:
        """Renew the tokens before they expire, forever. Run it in a task group.

        Sleeps until the next renewal is due (re-planning whenever the tokens change,
        e.g. after a 401-driven refresh); on failure logs a warning and retries with the
        session's backoff while the current tokens stay in use.
        """
        failures = 0
        while True:
            tokens = self._tokens
            changed = self._changed
            if tokens is None:
                await changed.wait()
                continue
            delay = self.next_refresh_in(tokens)
            if failures:
                delay = self.retry.backoff(failures)
            if delay is None:
                await changed.wait()
                continue
            with anyio.move_on_after(delay):
                await changed.wait()
                failures = 0  # someone else renewed the tokens meanwhile
                continue
            try:
                await self.refresh(stale=tokens, reason="renewal before expiry")
            except Exception as exc:
                failures += 1
                logger.warning(
                    "background token refresh failed (%s: %s); current tokens stay in use, "
                    "retrying in about %.1f s",
                    type(exc).__name__,
                    redact(str(exc)),
                    self.retry.backoff(failures),
                )
            else:
                failures = 0

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        """The background refresher runs while the session is entered; leaving stops it at
        once (it holds no state worth finishing)."""
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self.run_refresher, name="symbot token refresher")
            try:
                yield
            finally:
                task_group.cancel_scope.cancel()
