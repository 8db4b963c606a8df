"""Retrying HTTP calls with the one retry policy (`symbot.config.RetryPolicy`): capped
exponential backoff with jitter, honouring `Retry-After`.

Everything in symbot that waits before trying again goes through `RetryPolicy.backoff`:
HTTP calls (`send_with_retry`, built on tenacity), the login of an `AuthSession`'s
background refresher, and the datafeed loop. What is retried is decided here too:
5xx, 429 and network errors are transient; everything else (notably 401/403 at login,
which is a configuration error) is handed back to the caller after one attempt.
"""

from __future__ import annotations

import email.utils
import logging
import ssl
import time
from collections.abc import Awaitable, Callable

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
from symbot.errors import TransportError, redact
from symbot.transport._tls import error_detail, tls_refusal, tls_refused

__all__ = ["is_transient_status", "retry_after_seconds", "send_with_retry"]

logger = logging.getLogger("symbot.transport")


def is_transient_status(status: int) -> bool:
    """5xx and 429 are worth retrying; every other status is an answer."""
    return status == 429 or 500 <= status <= 599


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The response's `Retry-After` in seconds (delta-seconds or HTTP date), if any."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# Failures after which a request was certainly not processed: safe to retry even a POST that
# must not happen twice (a message). Anything else may have been processed.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


async def send_with_retry(
    policy: RetryPolicy,
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    idempotent: bool = True,
) -> httpx.Response:
    """Call `send` until it gives a non-transient response or the policy gives up.

    A request that must not be processed twice (`idempotent=False`, e.g. posting a message)
    is retried only when the server certainly did not process it: a 429, or a connection
    that could not be made. A 5xx or a connection lost after sending is final for it.
    Returns the last response, whatever its status (the caller decides what an error is).
    Network errors that outlive the policy become `symbot.errors.TransportError`, naming
    the URL and what to check.
    """

    def transient_response(result: object) -> bool:
        if not isinstance(result, httpx.Response):
            return False
        return is_transient_status(result.status_code) if idempotent else result.status_code == 429

    def transient_exception(exc: BaseException) -> bool:
        if not isinstance(exc, httpx.TransportError) or tls_refusal(exc) is not None:
            return False
        return idempotent or isinstance(exc, _NEVER_SENT)

    def wait(state: RetryCallState) -> float:
        retry_after = None
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            result = outcome.result()
            if isinstance(result, httpx.Response):
                retry_after = retry_after_seconds(result)
        return policy.backoff(state.attempt_number, retry_after)

    def log_retry(state: RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None:
            return
        if outcome.failed:
            exc = outcome.exception()
            what = f"{type(exc).__name__}: {redact(str(exc))}"
            target = _describe_request(exc) if exc is not None else "request"
        else:
            response = outcome.result()
            what = f"status {response.status_code}"
            target = f"{response.request.method} {response.request.url}"
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
                raise TransportError(
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

    try:
        response: httpx.Response = await retrying(attempt)
    except httpx.TransportError as exc:  # not retried: a TLS verdict
        refusal = tls_refusal(exc)
        reason = refusal.reason if refusal is not None else type(exc).__name__
        raise TransportError(f"{_describe_request(exc)} failed: {tls_refused(reason)}") from exc
    return response


def _describe_request(exc: BaseException) -> str:
    if isinstance(exc, httpx.RequestError):
        try:
            request = exc.request
        except RuntimeError:
            return "request"
        return f"{request.method} {request.url}"
    return "request"
