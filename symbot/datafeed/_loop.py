"""The datafeed v5 loop: find or create the feed, read it, hand each batch on, acknowledge.

The contract (at-least-once, nothing lost; docs/architecture.md):

- Start: reuse the feed listed under our tag, else create one. The feed id and the last
  ackId survive `run()` returning, so a restarted loop carries on where it stopped.
- A read sends the ackId of the last batch that was *fully handled*. If a batch was not
  (a handler raised `Redeliver`, or `stop()`'s deadline cut it short), the next read sends
  the previous ackId again, the batch stays unacknowledged and the agent re-queues it after
  its visibility timeout. After a failed read the same ackId is sent again.
- 400/404 on read → the feed is gone: create a new one, reset the ackId to "".
  401 (after the auth flow's own replay) → refresh the session and retry.
  403 → too many feeds: delete the ones that are not ours, retry.
  5xx, 429, timeouts, dropped connections, TLS errors, malformed answers (too large, not
  JSON, too deep, `null` where a list belongs: `symbot.errors.MalformedAnswerError`) →
  backoff with jitter (`Retry-After` honoured, up to `retry.max_retry_after`), by default
  forever. The loop never dies of the network; only an
  `AuthenticationError` (the credentials were refused: configuration) ends it.
- `stop()` cancels a pending long-poll or backoff at once (nothing is lost: a cancelled
  read takes no events), and lets the batch being handled finish, up to a deadline.

Why no final "acknowledge-only" read on stop: a v5 read cannot acknowledge without also
taking whatever events are waiting, and those would then be dropped until their visibility
timeout. So a batch handled during `stop()` stays unacknowledged: the next `run()` of this
loop sends its ackId first thing; if the process exits instead, the agent re-queues it
(in-process dedupe only covers one process). Every earlier batch was already acknowledged
by the read that followed it.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx
from attrs import define, frozen

from symbot.config import RetryPolicy
from symbot.datafeed._read import parse_read_body
from symbot.errors import AuthenticationError, MalformedAnswerError, SymbotError
from symbot.transport import (
    MALFORMED_ANSWER,
    NETWORK,
    RATE_LIMITED,
    SERVER_ERROR,
    JsonError,
    TransportStats,
    as_list,
    as_object,
    error_detail,
    is_transient_status,
    malformed,
    read_error_body,
    read_json,
    retry_after,
    tls_refused,
    tls_verdict,
)

__all__ = ["Batch", "DatafeedLoop", "FeedStats"]

logger = logging.getLogger("symbot.datafeed")

BatchHandler = Callable[[Sequence[object]], Awaitable[bool]]
"""Handles one batch of raw events; True when every event was handled (ack it)."""

FOREVER = RetryPolicy(max_attempts=None)
T = TypeVar("T")


@frozen
class Batch:
    events: tuple[object, ...]
    ack_id: str


UNAUTHORIZED = "unauthorized"
"""A retry after a 401 that outlived the auth flow's replay (or a re-login that failed)."""
TOO_MANY_FEEDS = "too_many_feeds"
"""A retry after the agent refused another feed (403)."""
FEED_GONE = "feed_gone"
"""A backoff after the feed vanished again before a read succeeded."""
REFUSED = "refused"
"""A retry after another error status (a 4xx the agent should not send)."""


@define
class FeedStats:
    """What the loop did, for tests, benchmarks and health pages. `last_read_at` is when a
    read last completed (`time.monotonic()`): an answer with events, or a long-poll that
    ended empty."""

    reads: int = 0
    failed_reads: int = 0
    batches: int = 0
    events: int = 0
    batches_unacknowledged: int = 0
    feeds_created: int = 0
    feeds_reused: int = 0
    stale_feeds_deleted: int = 0
    auth_refreshes: int = 0
    last_read_at: float | None = None


class _ReadFailed(Exception):
    """A request failed in a way worth retrying after a backoff; `kind` says why, as
    `TransportStats` counts retries."""

    def __init__(self, what: str, kind: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.kind = kind
        self.retry_after = retry_after


def _status_kind(status: int) -> str:
    """The retry kind of an error status."""
    if status == 429:
        return RATE_LIMITED
    return SERVER_ERROR if status >= 500 else REFUSED


class _FeedGone(Exception):
    pass


class DatafeedLoop:
    """Reads one datafeed v5 and hands batches to `handle_batch`; see the module docstring.

    `agent` is an httpx client whose base URL is the agent and whose auth adds the tokens
    (and replays once on 401); `refresh_auth` forces a new login when a 401 survives that.
    `feed_id` and `ack_id` say where a previous loop of the same bot stopped (it carries on
    there); `stats` is where the counts go and `transport_stats` where its retries (by kind)
    and the malformed answers it met are counted (a bot keeps both across restarts).
    """

    def __init__(
        self,
        agent: httpx.AsyncClient,
        *,
        handle_batch: BatchHandler,
        refresh_auth: Callable[[], Awaitable[object]],
        tag: str,
        read_timeout: float = 45.0,
        retry: RetryPolicy = FOREVER,
        include_invisible: bool = False,
        delete_stale_on_403: bool = True,
        feed_id: str | None = None,
        ack_id: str = "",
        stats: FeedStats | None = None,
        transport_stats: TransportStats | None = None,
    ) -> None:
        self._agent = agent
        self._handle_batch = handle_batch
        self._refresh_auth = refresh_auth
        self.tag = tag
        self._retry = retry
        self._include_invisible = include_invisible
        self._delete_stale_on_403 = delete_stale_on_403
        base = agent.timeout
        self._read_timeout_s = read_timeout
        self._read_timeout = httpx.Timeout(
            connect=base.connect, read=read_timeout, write=base.write, pool=base.pool
        )
        self.feed_id = feed_id
        self.ack_id = ack_id
        self.stats = FeedStats() if stats is None else stats
        self._transport_stats = TransportStats() if transport_stats is None else transport_stats
        self._read_url: tuple[str, httpx.URL] | None = None  # (feed id, its read URL)
        self._failures = 0
        self._stopping = False
        self._drain_timeout: float | None = None
        self._intake: anyio.CancelScope | None = None
        self._drain: anyio.CancelScope | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, *, on_ready: Callable[[], object] | None = None) -> None:
        """Read until `stop()`; `on_ready` is called once the feed exists, before the first
        read. Returns after stop; may be called again afterwards."""
        ready = False
        try:
            while not self._stopping:  # stop() may come before run() starts, too
                batch: Batch | None = None
                with anyio.CancelScope() as self._intake:
                    if self.feed_id is None:
                        await self._open_feed()
                    if not ready and on_ready is not None:
                        on_ready()
                    ready = True
                    batch = await self._read_once()
                self._intake = None
                if batch is None:
                    continue
                if batch.events:
                    await self._deliver(batch)
                else:
                    self.ack_id = batch.ack_id  # a long-poll that timed out: nothing to handle
        finally:
            self._stopping = False
            self._drain_timeout = None
            self._intake = self._drain = None
        logger.info("datafeed loop stopped (feed %s)", self.feed_id)

    def stop(self, drain_timeout: float | None = None) -> None:
        """Stop intake now; let the batch in hand finish within `drain_timeout` seconds
        (None: no limit). Returns at once; `run()` returns when the batch is done."""
        self._stopping = True
        self._drain_timeout = drain_timeout
        if self._intake is not None:
            self._intake.cancel()
        if self._drain is not None and drain_timeout is not None:
            self._drain.deadline = min(self._drain.deadline, anyio.current_time() + drain_timeout)

    async def _deliver(self, batch: Batch) -> None:
        self.stats.batches += 1
        self.stats.events += len(batch.events)
        handled = False
        with anyio.CancelScope() as self._drain:
            if self._stopping and self._drain_timeout is not None:
                self._drain.deadline = anyio.current_time() + self._drain_timeout
            handled = await self._handle_batch(batch.events)
        self._drain = None
        if handled:
            self.ack_id = batch.ack_id
            return
        self.stats.batches_unacknowledged += 1
        why = "the stop deadline passed" if self._stopping else "a handler asked for redelivery"
        logger.info(
            "batch of %d event(s) left unacknowledged (%s); the agent will re-queue it",
            len(batch.events),
            why,
        )

    # -- feed management ---------------------------------------------------------------------

    async def _open_feed(self) -> None:
        """Find the feed listed under our tag, else create one; retries until it works."""
        while True:
            try:
                listed = await self._call("GET", "/agent/v5/datafeeds", params={"tag": self.tag})
                if listed.status_code == 200:
                    feeds = _decode(listed, _feed_ids)
                    if feeds:
                        self._use_feed(feeds[0], reused=True)
                        return
                await self._create_feed()
                return
            except _ReadFailed as failure:
                await self._backoff(f"opening the datafeed failed: {failure}", failure)

    async def _create_feed(self) -> None:
        response = await self._call(
            "POST",
            "/agent/v5/datafeeds",
            json={"tag": self.tag, "includeInvisible": self._include_invisible},
        )
        if response.status_code == 403:
            await self._delete_stale_feeds()
            raise _ReadFailed("403 too many datafeeds", TOO_MANY_FEEDS)
        if response.status_code not in (200, 201):
            said = read_error_body(response).message
            raise _ReadFailed(
                f"datafeed create answered {response.status_code}: {said}",
                _status_kind(response.status_code),
            )
        self._use_feed(_decode(response, _feed_id), reused=False)

    def _use_feed(self, feed_id: str, *, reused: bool) -> None:
        self.feed_id = feed_id
        self.ack_id = ""
        if reused:
            self.stats.feeds_reused += 1
        else:
            self.stats.feeds_created += 1
        logger.info(
            "%s datafeed %s (tag %r)", "reusing" if reused else "created", feed_id, self.tag
        )

    async def _delete_stale_feeds(self) -> None:
        """Too many feeds for this account: delete every feed that is not the one we read.
        One service account should run one bot (possibly several instances sharing a tag)."""
        if not self._delete_stale_on_403:
            logger.warning("the agent refuses more datafeeds; delete stale ones (see the 403)")
            return
        response = await self._call("GET", "/agent/v5/datafeeds")
        listed = _decode(response, _feed_ids) if response.status_code == 200 else []
        stale = [feed_id for feed_id in listed if feed_id != self.feed_id]
        logger.warning(
            "the agent refuses more datafeeds for this account; deleting %d stale feed(s)",
            len(stale),
        )
        for feed_id in stale:
            await self._call("DELETE", f"/agent/v5/datafeeds/{quote(feed_id, safe='')}")
            self.stats.stale_feeds_deleted += 1

    # -- reading -----------------------------------------------------------------------------

    async def _read_once(self) -> Batch | None:
        """One read; a batch, or None after handling a failure (backoff or a new feed)."""
        assert self.feed_id is not None
        self.stats.reads += 1
        path = self._read_url_of(self.feed_id)
        try:
            # httpx enforces the read timeout on sockets; the guard also covers transports
            # that do not (in-process ones) and a login stuck inside the auth flow.
            with anyio.move_on_after(self._read_timeout_s) as guard:
                response = await self._call(
                    "POST", path, json={"ackId": self.ack_id}, timeout=self._read_timeout
                )
            if guard.cancelled_caught:
                raise _ReadFailed(
                    f"datafeed read timed out after {self._read_timeout_s:g} s; the agent at "
                    f"{self._agent.base_url} may be unreachable or slow",
                    NETWORK,
                )
            if response.status_code in (400, 404):
                raise _FeedGone(f"{response.status_code}: {read_error_body(response).message}")
            if response.status_code == 403:
                await self._delete_stale_feeds()
                raise _ReadFailed("403 too many datafeeds", TOO_MANY_FEEDS)
            if response.status_code != 200:
                raise _ReadFailed(
                    f"status {response.status_code}: {read_error_body(response).message}",
                    _status_kind(response.status_code),
                    retry_after(response, self._retry),
                )
            try:
                events, ack_id = parse_read_body(response.content)
            except JsonError as exc:
                what = str(malformed(response, exc.kind, exc.detail))
                raise _ReadFailed(what, MALFORMED_ANSWER) from None
        except _FeedGone as gone:
            logger.warning("datafeed %s is gone (%s); creating a new one", self.feed_id, gone)
            self.feed_id = None
            self.ack_id = ""
            self.stats.failed_reads += 1
            if self._failures:  # no good read since the last failure: do not spin
                await self._backoff("the datafeed keeps failing", _ReadFailed("", FEED_GONE))
            else:
                self._failures = 1
            return None
        except _ReadFailed as failure:
            self.stats.failed_reads += 1
            await self._backoff(f"datafeed read failed: {failure}", failure)
            return None
        self._failures = 0
        self.stats.last_read_at = time.monotonic()
        return Batch(tuple(events), ack_id)

    def _read_url_of(self, feed_id: str) -> httpx.URL:
        """The absolute URL of the feed's read, built once per feed: httpx merges a relative
        path with the base URL on every request, which costs more than the rest of
        building it."""
        if self._read_url is None or self._read_url[0] != feed_id:
            base = self._agent.base_url  # merged as httpx merges a path with it
            path = f"/agent/v5/datafeeds/{quote(feed_id, safe='')}/read".encode()
            url = base.copy_with(raw_path=base.raw_path.rstrip(b"/") + path)
            self._read_url = (feed_id, url)
        return self._read_url[1]

    async def _call(self, method: str, path: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """One agent request. Network trouble and transient statuses become `_ReadFailed`;
        a 401 that outlived the auth flow's replay forces a re-login, then `_ReadFailed`."""
        try:
            response = await self._agent.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise _ReadFailed(
                f"{method} {path} timed out ({type(exc).__name__}); the agent at "
                f"{self._agent.base_url} may be unreachable",
                NETWORK,
            ) from exc
        except (httpx.HTTPError, ssl.SSLError) as exc:
            # httpx on asyncio lets a TLS error met while reading a response (an alert, a
            # record that is not TLS) escape raw; on trio it is a ReadError. Network trouble.
            verdict = tls_verdict(exc)
            url = self._agent.base_url.join(path)
            what = tls_refused(verdict, url) if verdict is not None else error_detail(exc)
            raise _ReadFailed(f"{method} {path}: {what}", NETWORK) from exc
        except AuthenticationError:
            raise
        except MalformedAnswerError as exc:  # the guard refused the body (too large, ...)
            raise _ReadFailed(str(exc), MALFORMED_ANSWER) from exc
        except SymbotError as exc:  # a re-login inside the auth flow hit the network
            raise _ReadFailed(f"{method} {path}: {exc}", UNAUTHORIZED) from exc
        if response.status_code == 401:
            self.stats.auth_refreshes += 1
            logger.warning("%s %s answered 401 after a replay; logging in again", method, path)
            try:
                await self._refresh_auth()
            except AuthenticationError:
                raise
            except (SymbotError, httpx.HTTPError) as exc:
                raise _ReadFailed(f"re-login failed: {exc}", UNAUTHORIZED) from exc
            raise _ReadFailed("401 unauthorized", UNAUTHORIZED)
        if is_transient_status(response.status_code):
            said = read_error_body(response).message
            raise _ReadFailed(
                f"{method} {path} answered {response.status_code}: {said}",
                _status_kind(response.status_code),
                retry_after(response, self._retry),
            )
        return response

    async def _backoff(self, what: str, failure: _ReadFailed) -> None:
        """Wait before the next attempt after `failure`, counted by its kind."""
        self._failures += 1
        if failure.kind == MALFORMED_ANSWER:
            self._transport_stats.malformed_answers += 1
        if not self._retry.attempts_left(self._failures):
            raise SymbotError(f"{what}; giving up after {self._failures} attempts")
        self._transport_stats.retried(failure.kind)
        delay = self._retry.backoff(self._failures, failure.retry_after)
        logger.warning("%s; attempt %d, retrying in %.2f s", what, self._failures, delay)
        await anyio.sleep(delay)


def _decode(response: httpx.Response, shape: Callable[[Any], T]) -> T:
    """`read_json(response, shape)`, a malformed answer becoming a `_ReadFailed`."""
    try:
        return read_json(response, shape)
    except MalformedAnswerError as exc:
        raise _ReadFailed(str(exc), MALFORMED_ANSWER) from None


def _feed_id(value: Any) -> str:
    """The id of a `V5Datafeed` object."""
    feed_id = as_object(value).get("id")
    if not isinstance(feed_id, str) or not feed_id or len(feed_id) > 1000:
        raise JsonError("unexpected shape", "a datafeed without a string id")
    return feed_id


def _feed_ids(value: Any) -> list[str]:
    """The ids of a list of `V5Datafeed` objects."""
    return [_feed_id(feed) for feed in as_list(value)]
