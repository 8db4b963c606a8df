"""AuthSession: keeps a bot's tokens valid and hands them to every request.

The lifecycle is Symphony's: session and Key Manager tokens live as long as the pod's
session policy says (1 hour to 2 weeks, announced by nothing) and are used **until a 401**.

- `tokens()` / `refresh(stale)` are **single-flight**: one login at a time, and a caller
  whose failed tokens were already replaced gets the new ones without another login —
  so 200 concurrent 401s cost exactly one pod login and one Key Manager login.
- `auth` / `pod_auth` are `httpx.Auth` flows: add the token headers, and on a 401 refresh
  *the tokens that failed* and replay the request once.
- The background refresher (`async with session:` or `run_refresher()` in your own task
  group) renews the tokens ahead of `max_token_age` only, the one deadline a deployer can
  know (from the pod's policy), with jitter; a failed renewal is retried with backoff while
  the current tokens stay in use. The `authorizationToken` of a login answer is a
  short-lived access token: its `exp` plans nothing. Tokens that announce their own expiry
  (`Tokens.expires_at`: access tokens) are renewed ahead of it when asked for.
- A re-login that fails after credentials worked (a maintenance window) is retried with
  capped backoff until the service answers again (`symbot.auth._outage`); `health` says so.
- The same machinery keeps the sessions derived from this one: an access token per scope
  (`access_token()`), and, in `symbot.apps`, an app's session and its users' OBO sessions.
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
from symbot.auth._access import AccessTokenLogin
from symbot.auth._clock import ServerClock
from symbot.auth._outage import Outage, SessionHealth, SessionState, what_failed
from symbot.auth._provider import AuthProvider, Tokens
from symbot.auth._stats import LoginStats
from symbot.config import RetryPolicy
from symbot.errors import ConfigError, KeyLoadError, SymbotError, redact
from symbot.transport import Transport

__all__ = ["AuthSession", "TokenAuth"]

MAX_SCOPES = 32
"""Access tokens kept per session, one per scope (the least recently used is dropped)."""

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
        if self._key_manager and tokens.key_manager_token is not None:
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
        stats = self._session.stats
        stats.unauthorized += 1
        await response.aread()  # small body; lets the connection be reused
        logger.debug("%s %s answered 401; refreshing tokens", request.method, request.url)
        fresh = await self._session.refresh(stale=tokens, reason="after a 401")
        self._apply(request, fresh)
        response = yield request
        if response.status_code == 401:
            stats.unauthorized += 1


class AuthSession(AsyncResource):
    """Caches the tokens of one `AuthProvider` and keeps them fresh; the provider logs in
    through `transport`.

    `max_token_age` (seconds; None by default: used until a 401, as Symphony advises) renews
    tokens ahead of an age the deployer knows from the pod's session policy. A renewal is
    scheduled `refresh_margin` seconds before the deadline (at most a third of the lifetime,
    so short-lived tokens work too), minus a random `jitter` fraction of the remaining time
    so many bots do not renew in step.

    A re-login that fails once credentials worked (a refusal, a 5xx, the network) is ridden
    out with `retry`'s capped backoff, up to `relogin_give_up_after` seconds (None: never
    give up); `ride_out_refusals=False` makes every failure final (the on-behalf-of sessions
    of `symbot.apps`, whose refusal means the user withdrew the app). `clock` is the
    deployment's `ServerClock` (access tokens are planned on it); `name` says whose session
    it is in logs ("app my-app"; None for a bot's own, which the log identity names).
    `stats` counts logins by reason, failed logins and 401s (a `Bot` passes the one it keeps
    across servings; a new one by default): `logins` and `login_failures` read it.
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
        clock: ServerClock | None = None,
        relogin_give_up_after: float | None = None,
        ride_out_refusals: bool = True,
        name: str | None = None,
        stats: LoginStats | None = None,
    ) -> None:
        self.provider = provider
        self._transport = transport
        self.max_token_age = max_token_age
        self.refresh_margin = refresh_margin
        self.jitter = jitter
        self.retry = retry or RetryPolicy(max_attempts=None)
        self.clock = clock or ServerClock()
        self.relogin_give_up_after = relogin_give_up_after
        self.ride_out_refusals = ride_out_refusals
        self.name = name
        self.stats = stats if stats is not None else LoginStats()
        self._worked = False  # a login of this session succeeded: later failures are outages
        self.auth: httpx.Auth = TokenAuth(self, key_manager=True)
        self.pod_auth: httpx.Auth = TokenAuth(self, key_manager=False)
        self._tokens: Tokens | None = None
        self._lock = anyio.Lock()
        self._attempts_done = 0
        self._last_error: Exception | None = None
        self._failed_at: float | None = None
        self._outage: Outage | None = None
        self._changed = anyio.Event()
        self._access: dict[str | None, AuthSession] = {}

    @property
    def logins(self) -> int:
        """Successful logins (counted in `stats`)."""
        return self.stats.total

    @property
    def login_failures(self) -> int:
        """Failed logins (counted in `stats`)."""
        return self.stats.failures

    @property
    def current(self) -> Tokens | None:
        """The cached tokens, without logging in."""
        return self._tokens

    @property
    def health(self) -> SessionHealth:
        """The session's state for health checks: ok, not logged in yet, riding out an
        outage (since when, how many attempts, what the servers said), or failed."""
        if self._outage is not None:
            return self._outage.health(self.logins, self.login_failures)
        if self._failed_at is not None:
            return SessionHealth(
                state="failed",
                logins=self.logins,
                login_failures=self.login_failures,
                since=self._failed_at,
                last_error=None if self._last_error is None else what_failed(self._last_error),
            )
        state: SessionState = "ok" if self._tokens is not None else "not logged in"
        return SessionHealth(state=state, logins=self.logins, login_failures=self.login_failures)

    async def tokens(self) -> Tokens:
        """Valid tokens: logs in the first time; tokens that announced their expiry (access
        tokens) are renewed ahead of it. Session tokens are otherwise used until a 401."""
        tokens = self._tokens
        if tokens is None:
            return await self._single_flight(_NOT_YET, "first login")
        if tokens.expires_at is not None and time.time() >= self._renew_at(tokens):
            return await self._single_flight(tokens, "renewal before the announced expiry")
        return tokens

    def _renew_at(self, tokens: Tokens) -> float:
        """When tokens with an announced expiry are renewed on use: `refresh_margin` before
        it, at most a third of their lifetime."""
        assert tokens.expires_at is not None
        lifetime = max(0.0, tokens.expires_at - tokens.obtained_at)
        return tokens.expires_at - min(self.refresh_margin, lifetime / 3)

    async def access_token(self, scope: str | None = None) -> str:
        """A short-lived access token for `scope` (beta on Symphony's side), from
        `POST /login/idm/tokens` with this session's token: obtained on first use, cached per
        scope and renewed ahead of its expiry (never with a re-login of this session; a 401
        there refreshes this session once). For the APIs that require one, such as the
        distribution-list management API: `Authorization: Bearer <token>`."""
        derived = self._access.pop(scope, None)
        if derived is None:
            derived = AuthSession(
                AccessTokenLogin(self, scope, self.clock),
                self._transport,
                refresh_margin=self.refresh_margin,
                retry=self.retry,
                clock=self.clock,
                ride_out_refusals=False,
                name=f"access token ({scope or 'no scope'})"
                + (f" of {self.name}" if self.name else ""),
            )
        self._access[scope] = derived  # most recently used last
        if len(self._access) > MAX_SCOPES:
            del self._access[next(iter(self._access))]
        return (await derived.tokens()).session_token

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
                raise self._last_error  # a login made while we waited just failed for good
            return await self._login(reason)

    async def _login(self, reason: str) -> Tokens:
        """Log in (holding the lock); during an outage, attempt after attempt as planned."""
        while True:
            if self._outage is not None:
                await self._outage.wait_turn()
            started = time.monotonic()
            try:
                tokens = await self.provider.login(self._transport)
            except Exception as exc:
                self._attempts_done += 1
                self.stats.failures += 1
                if self._rides_out(exc):
                    continue
                final = exc if self._outage is None else self._outage.final_error(exc)
                self._last_error = final
                self._failed_at = time.time()
                self._outage = None
                if final is exc:
                    raise
                raise final from None
            break
        self._attempts_done += 1
        self._last_error = None
        self._failed_at = None
        if self._outage is not None:
            self._outage.recovered()
            self._outage = None
        self.stats.logged_in(reason)
        self._worked = True
        self._tokens = tokens
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
        logger.info(
            "%slogged in (login #%d: %s, %.0f ms)",
            f"{self.name}: " if self.name else "",
            self.logins,
            reason,
            (time.monotonic() - started) * 1000,
        )
        return tokens

    def _rides_out(self, exc: Exception) -> bool:
        """True when `exc` is a re-login failure to retry (the outage plans when): the
        credentials worked before, and it is not a local problem."""
        if not self.ride_out_refusals or not self._worked:
            return False
        if not isinstance(exc, SymbotError) or isinstance(exc, ConfigError | KeyLoadError):
            return False
        if self._outage is None:
            self._outage = Outage(self.retry, self.relogin_give_up_after, self.name)
        return self._outage.failed(exc)

    def next_refresh_in(self, tokens: Tokens, now: float | None = None) -> float | None:
        """Seconds until `tokens` should be renewed in the background, or None when nothing
        says they expire (no `max_token_age`, no announced expiry): used until a 401."""
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
