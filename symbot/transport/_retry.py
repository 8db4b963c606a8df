"""Retrying HTTP calls with the one retry policy (`symbot.config.RetryPolicy`): capped
exponential backoff with jitter, honouring `Retry-After`.

Everything in symbot that waits before trying again goes through `RetryPolicy.backoff`:
HTTP calls (`send_with_retry`, built on tenacity), the login of an `AuthSession`'s
background refresher, and the datafeed loop. What is retried is decided here too:
5xx, 429, malformed answers (`MalformedAnswerError`) and network errors are transient;
everything else (notably 401/403 at login, which is a configuration error, and a TLS
verdict) is handed back to the caller after one attempt.

`retry_after` reads a server's `Retry-After` as RFC 9110 defines it (delay-seconds or an
HTTP-date), and is the one place that decides how much of it to honour.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC

import anyio
import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_never,
)

from symbot.config import RetryPolicy
from symbot.errors import MalformedAnswerError, NetworkError, redact
from symbot.transport._stats import (
    MALFORMED_ANSWER,
    NETWORK,
    RATE_LIMITED,
    SERVER_ERROR,
    TransportStats,
)
from symbot.transport._tls import error_detail, tls_refused, tls_verdict

__all__ = ["is_transient_status", "parse_retry_after", "retry_after", "send_with_retry"]

logger = logging.getLogger("symbot.transport")


def is_transient_status(status: int) -> bool:
    """5xx and 429 are worth retrying; every other status is an answer."""
    return status == 429 or 500 <= status <= 599


_DELAY_SECONDS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")


def parse_retry_after(value: str, *, now: float | None = None) -> float | None:
    """Seconds to wait according to a `Retry-After` value, or None when it is not one.

    RFC 9110 (section 10.2.3) allows delay-seconds (digits) or an HTTP-date. A decimal
    fraction is accepted too, as some servers send one. Anything else (negative, NaN,
    infinite, garbage, a date that cannot be read) is None: the caller falls back on its own
    backoff. A date is measured against `now` (epoch seconds: the server's own `Date` when it
    sent one, so a skewed clock on either side does not matter) and is 0 once past.
    """
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    if not value or not value[0].isalpha() or len(value) > 64:  # every HTTP-date opens with a day
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000", or asctime's format: HTTP-dates are all GMT
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def retry_after(response: httpx.Response, policy: RetryPolicy) -> float | None:
    """The wait `response`'s `Retry-After` asks for, capped at `policy.retry_after_cap`
    (logged at WARNING when the cap bites); None when it has none or it is not readable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    seconds = parse_retry_after(value, now=_server_now(response))
    request = response.request
    if seconds is None:
        logger.info(
            "%s %s: ignoring Retry-After %r (neither delay-seconds nor an HTTP-date); "
            "using symbot's own backoff",
            request.method,
            request.url,
            value[:40],
        )
        return None
    cap = policy.retry_after_cap
    if seconds > cap:
        logger.warning(
            "%s %s asks to wait %g s (Retry-After %r); waiting at most %g s "
            "(retry.max_retry_after, default retry.maximum)",
            request.method,
            request.url,
            seconds,
            value[:40],
            cap,
        )
        return cap
    return seconds


def _server_now(response: httpx.Response) -> float | None:
    """The server's clock when it answered, from its `Date` header, if it sent a readable one."""
    date = response.headers.get("date")
    if not date or len(date) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    stamp = when.timestamp()
    return stamp if math.isfinite(stamp) else None


# Failures after which a request was certainly not processed: safe to retry even a POST that
# must not happen twice (a message). Anything else may have been processed.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


async def send_with_retry(
    policy: RetryPolicy,
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    idempotent: bool = True,
    stats: TransportStats | None = None,
) -> httpx.Response:
    """Call `send` until it gives a non-transient response or the policy gives up.

    A request that must not be processed twice (`idempotent=False`, e.g. posting a message)
    is retried only when the server certainly did not process it: a 429, or a connection
    that could not be made. A 5xx or a connection lost after sending is final for it.
    Returns the last response, whatever its status (the caller decides what an error is).
    Network errors that outlive the policy become `symbot.errors.NetworkError`, naming
    the URL and what to check. A `MalformedAnswerError` raised by `send` (the answer's body
    could not be used: see `AnswerGuard` and `read_json`) is retried like a 5xx, and raised
    once the policy gives up. `stats` counts each retry by kind and each malformed answer
    (`Transport.send_with_retry` passes the transport's).
    """
    stats = stats if stats is not None else TransportStats()

    def transient_response(result: object) -> bool:
        if not isinstance(result, httpx.Response):
            return False
        return is_transient_status(result.status_code) if idempotent else result.status_code == 429

    def transient_exception(exc: BaseException) -> bool:
        if isinstance(exc, MalformedAnswerError):
            return idempotent
        if not isinstance(exc, httpx.TransportError) or tls_verdict(exc) is not None:
            return False
        return idempotent or isinstance(exc, _NEVER_SENT)

    def wait(state: RetryCallState) -> float:
        asked = None
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            result = outcome.result()
            if isinstance(result, httpx.Response):
                asked = retry_after(result, policy)
        return policy.backoff(state.attempt_number, asked)

    def log_retry(state: RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None:
            return
        if outcome.failed:
            exc = outcome.exception()
            if isinstance(exc, MalformedAnswerError):
                what = f"malformed answer, {exc.kind}: {exc.detail}"
                stats.retried(MALFORMED_ANSWER)
            else:
                what = f"{type(exc).__name__}: {redact(str(exc))}"
                stats.retried(NETWORK)
            target = _describe_request(exc) if exc is not None else "request"
        else:
            response = outcome.result()
            what = f"status {response.status_code}"
            target = f"{response.request.method} {response.request.url}"
            stats.retried(RATE_LIMITED if response.status_code == 429 else SERVER_ERROR)
        delay = state.upcoming_sleep
        logger.warning(
            "%s failed (%s), attempt %d; retrying in %.2f s",
            target,
            what,
            state.attempt_number,
            delay,
        )

    def give_up(state: RetryCallState) -> httpx.Response:
        assert state.outcome is not None
        if state.outcome.failed:
            exc = state.outcome.exception()
            if isinstance(exc, httpx.TransportError):
                raise NetworkError(
                    f"{_describe_request(exc)} failed after {state.attempt_number} attempt(s): "
                    f"{error_detail(exc)}. Check that the "
                    "host is reachable and the URL, proxy, CA bundle and timeouts are right"
                ) from exc
        result: httpx.Response = state.outcome.result()
        return result

    retrying = AsyncRetrying(
        sleep=anyio.sleep,
        stop=stop_never if policy.max_attempts is None else stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(transient_exception) | retry_if_result(transient_response),
        before_sleep=log_retry,
        retry_error_callback=give_up,
    )

    async def attempt() -> httpx.Response:
        try:
            return await send()
        except ssl.SSLError as exc:  # httpcore's anyio backend lets TLS alerts on read escape raw
            raise httpx.ReadError(f"TLS error: {exc.reason or exc}") from exc
        except MalformedAnswerError:
            stats.malformed_answers += 1
            raise

    try:
        response: httpx.Response = await retrying(attempt)
    except httpx.TransportError as exc:  # not retried: a TLS verdict
        verdict = tls_verdict(exc)
        what = tls_refused(verdict, _request_url(exc)) if verdict else error_detail(exc)
        raise NetworkError(f"{_describe_request(exc)} failed: {what}") from exc
    return response


def _request_url(exc: BaseException) -> httpx.URL | None:
    if isinstance(exc, httpx.RequestError):
        try:
            return exc.request.url
        except RuntimeError:
            return None
    return None


def _describe_request(exc: BaseException) -> str:
    if isinstance(exc, MalformedAnswerError):
        return f"{exc.method} {exc.url}"
    if isinstance(exc, httpx.RequestError):
        try:
            request = exc.request
        except RuntimeError:
            return "request"
        return f"{request.method} {request.url}"
    return "request"
