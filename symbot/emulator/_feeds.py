"""Datafeed v5 semantics, in memory: fan-out feeds, ackIds, re-queue, long-poll, TTL, caps.

The model, which is what a real agent does as far as a client can observe:

- A feed belongs to one user. `publish` copies an event into every live feed of its recipients;
  a recipient with no live feed loses the event (counted in `events_dropped`).
- Each read takes up to `max_batch` waiting events and hands them out under a fresh ackId
  that identifies that batch. Several readers of one feed each get their own batches, so
  every event goes to exactly one of them.
- Sending an ackId back acknowledges the batch it identifies. Sending it again (the client
  retries after a failed read) is harmless. An ackId this feed never issued is a 400.
- A batch not acknowledged within `visibility_timeout` goes back to the front of the queue and
  is delivered again (`events_requeued`); acknowledging it late is then a no-op, and the client
  sees the events again, as on a real pod.
- A read with nothing waiting long-polls up to `long_poll_timeout`, woken by new or re-queued
  events; it returns an empty batch (with an ackId) on timeout. A read cancelled while
  waiting, or whose client goes away meanwhile (`client_gone` returns: `ReaderGone`), takes
  nothing and gives up its place in line at once, so no event is lost or held back.
- A batch whose answer could not be written (the connection closed first) is of no use to
  anyone: `requeue_undelivered` puts it back at the front of the queue at once, rather than
  after its visibility timeout.
- A feed not read for `feed_ttl` expires (checked lazily); reading it is a 400. Reads while
  the user has more than `max_feeds_per_user` live feeds are refused with 403 (the spec puts
  the 403 on read: the client lists its feeds and deletes stale ones).

Events are kept as JSON text: dicts are serialised once at publish time, and raw strings
(possibly malformed JSON injected by tests) are kept verbatim. `FeedBatch.body()` builds the
read response by joining those fragments, so a malformed event reaches the client as-is.
"""

from __future__ import annotations

import builtins
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import anyio
from attrs import define, field, frozen

__all__ = [
    "FEED_TYPE",
    "AgentApiError",
    "FeedBatch",
    "FeedCounters",
    "FeedInfo",
    "FeedStore",
    "ReaderGone",
]

logger = logging.getLogger("symbot.emulator")

FEED_TYPE = "fanout"
MAX_TAG_LENGTH = 100


class AgentApiError(Exception):
    """An agent endpoint refusing a request; routes turn it into `{"code", "message"}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ReaderGone(Exception):
    """A long-poll read whose client went away while it waited: it took nothing."""


@define
class FeedCounters:
    """Event accounting across all feeds, for tests that check nothing was lost."""

    events_delivered: int = 0  # events handed out by reads, redeliveries included
    events_acked: int = 0
    events_requeued: int = 0  # events put back: visibility timeout, or answer undelivered
    events_dropped: int = 0  # events with no live feed, or lost with a deleted/expired feed


@frozen
class FeedInfo:
    """A snapshot of one feed, for listings and the emulator's controls."""

    feed_id: str
    username: str
    tag: str | None
    created_at: float  # epoch seconds
    pending: int  # events waiting to be delivered
    in_flight: int  # events delivered and not yet acknowledged
    readers: int = 0  # reads in progress (long-polling or about to answer)


@frozen
class FeedBatch:
    """One read's result: `events` are JSON text fragments (raw ones verbatim)."""

    ack_id: str
    events: tuple[str, ...]

    def body(self) -> bytes:
        """The V5EventList response body, with each event fragment inserted verbatim."""
        events = ",".join(self.events)
        return f'{{"events":[{events}],"ackId":{json.dumps(self.ack_id)}}}'.encode()

    def decoded(self) -> list[Any]:
        """The events parsed as JSON (raises ValueError on a malformed raw event)."""
        return [json.loads(event) for event in self.events]


@define
class _Batch:
    events: list[str]
    requeue_at: float


@define(eq=False)
class _Feed:
    feed_id: str
    username: str
    tag: str | None
    created_at: float
    last_activity: float
    ack_prefix: str = field(factory=lambda: secrets.token_urlsafe(12))
    pending: deque[str] = field(factory=deque)
    in_flight: dict[int, _Batch] = field(factory=dict)
    acks_issued: int = 0
    readers: deque[object] = field(factory=deque)  # reads in progress, oldest first
    closed: bool = False
    _changed: anyio.Event | None = None

    def notify(self) -> None:
        """Wake every reader waiting on this feed so it re-examines the feed."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def changed(self) -> anyio.Event:
        """An event set at the next change; created lazily so `publish` needs no event loop."""
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    def in_flight_count(self) -> int:
        return sum(len(batch.events) for batch in self.in_flight.values())

    def info(self) -> FeedInfo:
        return FeedInfo(
            self.feed_id,
            self.username,
            self.tag,
            self.created_at,
            len(self.pending),
            self.in_flight_count(),
            len(self.readers),
        )


class FeedStore:
    """All datafeeds of the emulated agent. Single event loop; operations never block
    except `read`, which long-polls."""

    def __init__(
        self,
        *,
        visibility_timeout: float = 30.0,
        long_poll_timeout: float = 30.0,
        feed_ttl: float = 1800.0,
        max_batch: int = 100,
        max_feeds_per_user: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1 or max_feeds_per_user < 1:
            raise ValueError("max_batch and max_feeds_per_user must be at least 1")
        self.visibility_timeout = visibility_timeout
        self.long_poll_timeout = long_poll_timeout
        self.feed_ttl = feed_ttl
        self.max_batch = max_batch
        self.max_feeds_per_user = max_feeds_per_user
        self.counters = FeedCounters()
        self._clock = clock
        self._feeds: dict[str, _Feed] = {}

    # -- feed lifecycle -------------------------------------------------------------------

    def create(self, username: str, tag: str | None = None) -> FeedInfo:
        """A new, empty feed for `username`. Always a new feed, even for a known tag: clients
        that want to reuse a feed list theirs by tag first."""
        if tag is not None and len(tag) > MAX_TAG_LENGTH:
            raise AgentApiError(400, f"datafeed tag is longer than {MAX_TAG_LENGTH} characters")
        self._expire_idle()
        now = self._clock()
        feed = _Feed(f"{secrets.token_hex(16)}_f", username, tag, time.time(), now)
        self._feeds[feed.feed_id] = feed
        logger.debug("created datafeed %s for %s (tag %r)", feed.feed_id, username, tag)
        return feed.info()

    def list(self, username: str, tag: str | None = None) -> list[FeedInfo]:
        """The live feeds of `username`, oldest first, optionally only those with `tag`."""
        return [info for info in self.feeds(username) if tag is None or info.tag == tag]

    def feeds(self, username: str | None = None) -> builtins.list[FeedInfo]:
        """Every live feed (of `username` if given), oldest first."""
        self._expire_idle()
        return [
            feed.info()
            for feed in self._feeds.values()
            if username is None or feed.username == username
        ]

    def delete(self, feed_id: str, username: str | None = None) -> None:
        """Delete a feed (only `username`'s, if given); its waiting and unacknowledged events
        are dropped and its readers get a 400. Unknown feed: AgentApiError 400."""
        feed = self._live_feed(feed_id, username)
        self._close(feed, "deleted")

    # -- events ---------------------------------------------------------------------------

    def publish(self, usernames: Iterable[str], event: Mapping[str, Any] | str) -> None:
        """Put `event` into every live feed of each user in `usernames`.

        `event` is a V4Event dict, or raw text delivered verbatim (even if not valid JSON).
        """
        text = event if isinstance(event, str) else json.dumps(event)
        self._expire_idle()
        for username in dict.fromkeys(usernames):
            targets = [feed for feed in self._feeds.values() if feed.username == username]
            if not targets:
                self.counters.events_dropped += 1
                logger.debug("event dropped: %s has no datafeed", username)
            for feed in targets:
                feed.pending.append(text)
                feed.notify()

    async def read(
        self,
        username: str,
        feed_id: str,
        ack_id: str | None,
        *,
        client_gone: Callable[[], Awaitable[object]] | None = None,
    ) -> FeedBatch:
        """Acknowledge the batch `ack_id` names (if any), then take the next batch, waiting up
        to `long_poll_timeout` for one. Raises AgentApiError 400 (unknown feed or ackId) or
        403 (too many feeds), and ReaderGone if `client_gone()` returns while it waits."""
        feed = self._live_feed(feed_id, username)
        live = sum(1 for other in self._feeds.values() if other.username == username)
        if live > self.max_feeds_per_user:
            raise AgentApiError(
                403,
                f"too many datafeeds: {username} has {live}, the limit is "
                f"{self.max_feeds_per_user}; list them and delete the stale ones",
            )
        self._requeue_expired(feed)  # a batch past its visibility timeout is no longer ackable
        self._acknowledge(feed, ack_id)
        feed.last_activity = self._clock()
        me = object()
        feed.readers.append(me)
        try:
            deadline = self._clock() + self.long_poll_timeout
            while True:
                if feed.closed:
                    raise AgentApiError(400, f"datafeed {feed_id} was deleted during the read")
                self._requeue_expired(feed)
                now = self._clock()
                # First come, first served: the read waiting longest takes the next batch, so
                # a reader that acknowledges and reads again cannot starve the others.
                if (feed.pending and feed.readers[0] is me) or now >= deadline:
                    break
                wait = deadline - now
                if feed.in_flight:
                    next_requeue = min(batch.requeue_at for batch in feed.in_flight.values())
                    wait = min(wait, max(next_requeue - now, 0.0))
                with anyio.move_on_after(wait):
                    await _changed_or_gone(feed.changed(), client_gone)
            return self._take_batch(feed)
        finally:
            feed.readers.remove(me)
            feed.notify()  # the next read in line may take what is pending
            feed.last_activity = self._clock()

    def requeue_undelivered(self, feed_id: str, ack_id: str) -> None:
        """Put the batch `ack_id` names back at the front of its feed's queue at once: the
        answer carrying it could not be written, so no client has it. A no-op when the feed
        is gone or the batch was acknowledged or re-queued already."""
        feed = self._feeds.get(feed_id)
        if feed is None:
            return
        index = _batch_index(feed, ack_id)
        batch = feed.in_flight.pop(index, None) if index is not None else None
        if batch is None:
            return
        feed.pending.extendleft(reversed(batch.events))
        self.counters.events_requeued += len(batch.events)
        feed.notify()
        logger.debug(
            "re-queued %d events on %s: their answer could not be written",
            len(batch.events),
            feed.feed_id,
        )

    # -- internals ------------------------------------------------------------------------

    def _live_feed(self, feed_id: str, username: str | None) -> _Feed:
        self._expire_idle()
        feed = self._feeds.get(feed_id)
        if feed is None or (username is not None and feed.username != username):
            raise AgentApiError(
                400,
                f"datafeed {feed_id} does not exist or has expired; create a new datafeed",
            )
        return feed

    def _acknowledge(self, feed: _Feed, ack_id: str | None) -> None:
        if not ack_id:
            return
        index = _batch_index(feed, ack_id)
        if index is None:
            raise AgentApiError(400, f"invalid ackId for datafeed {feed.feed_id}")
        batch = feed.in_flight.pop(index, None)  # None: already acked or re-queued
        if batch is not None:
            self.counters.events_acked += len(batch.events)
            feed.notify()

    def _take_batch(self, feed: _Feed) -> FeedBatch:
        count = min(len(feed.pending), self.max_batch)
        events = [feed.pending.popleft() for _ in range(count)]
        feed.acks_issued += 1
        if events:
            requeue_at = self._clock() + self.visibility_timeout
            feed.in_flight[feed.acks_issued] = _Batch(events, requeue_at)
            self.counters.events_delivered += len(events)
            feed.notify()  # other waiting readers must account for this batch's deadline
        return FeedBatch(f"{feed.ack_prefix}.{feed.acks_issued}", tuple(events))

    def _requeue_expired(self, feed: _Feed) -> None:
        now = self._clock()
        expired = [index for index, batch in feed.in_flight.items() if batch.requeue_at <= now]
        if not expired:
            return
        requeued: list[str] = []
        for index in sorted(expired):
            requeued.extend(feed.in_flight.pop(index).events)
        feed.pending.extendleft(reversed(requeued))
        self.counters.events_requeued += len(requeued)
        logger.debug("re-queued %d unacknowledged events on %s", len(requeued), feed.feed_id)

    def _expire_idle(self) -> None:
        now = self._clock()
        for feed in list(self._feeds.values()):
            if not feed.readers and now - feed.last_activity >= self.feed_ttl:
                self._close(feed, "expired")

    def _close(self, feed: _Feed, why: str) -> None:
        lost = len(feed.pending) + feed.in_flight_count()
        self.counters.events_dropped += lost
        feed.pending.clear()
        feed.in_flight.clear()
        feed.closed = True
        del self._feeds[feed.feed_id]
        feed.notify()
        logger.debug("datafeed %s %s; %d events dropped", feed.feed_id, why, lost)


async def _changed_or_gone(
    changed: anyio.Event, client_gone: Callable[[], Awaitable[object]] | None
) -> None:
    """Wait for `changed`; raise ReaderGone if `client_gone()` returns first. The watch
    costs a task only while a read actually waits, never on the hot path of a backlog."""
    if client_gone is None:
        await changed.wait()
        return
    gone = False
    async with anyio.create_task_group() as task_group:

        async def watch() -> None:
            nonlocal gone
            await client_gone()
            gone = True
            task_group.cancel_scope.cancel()

        task_group.start_soon(watch)
        await changed.wait()
        task_group.cancel_scope.cancel()
    if gone:
        raise ReaderGone


def _batch_index(feed: _Feed, ack_id: str) -> int | None:
    """The number of the batch `ack_id` names, if this feed issued it."""
    prefix, _, number = ack_id.rpartition(".")
    if prefix != feed.ack_prefix or not number.isdigit():
        return None
    index = int(number)
    return index if 1 <= index <= feed.acks_issued else None
