"""The dispatcher: one datafeed batch in, handlers run, one answer out — may it be acknowledged?

The contract (per-stream order; docs/architecture.md):

- Events of one stream are handled in order, one after another; different streams run
  concurrently, under one `CapacityLimiter` shared by the whole bot. Events without a
  stream (connection requests, ...) form one group of their own. A batch of one stream runs
  in the caller's task; several streams run in worker tasks, a new worker starting only
  while the others wait (a handler awaiting I/O, the limiter): as concurrent as a task per
  stream, without paying for one when handlers do not wait.
- The whole batch is finished before `dispatch` returns, so the next batch (and its
  acknowledgement) waits: this keeps per-stream order across batches too.
- Duplicate event ids are dropped (a re-queued batch, several instances on one feed). An
  id is remembered only once its event was handled, in a bounded LRU, so an event whose
  handler asked for redelivery comes back and is handled again.
- The bot's own events are skipped: those its user initiated (a message without an
  initiator: that it sent), when the dispatcher is given the bot's user id. This is the one
  place that filters them: handlers of every kind never see them.
- A failing handler is isolated: logged at ERROR with its traceback, passed to `on_error`,
  and the event counts as handled (it would fail again). A handler raising `Redeliver`
  makes `dispatch` return False (do not acknowledge); the rest of that stream's events in
  the batch are then left for the redelivery too, so their order is kept.
- A malformed event (`EventParseError`, or anything else a parser throws) is logged with
  its id and skipped.
- Each handler call is timed (`time.perf_counter`, from the call until it returned or
  raised) into a histogram per handler name (`DispatchStats.handler_seconds`), for metrics.
- At DEBUG level, each handler call is logged with the event's id, type, stream and
  initiator; below DEBUG, the per-event path formats no log line at all.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

import anyio
from attrs import Factory, define

from symbot.datafeed import Event, MalformedEvent, MessageSentEvent, parse_event
from symbot.errors import EventParseError, Redeliver
from symbot.health import Histogram

__all__ = ["DispatchStats", "Dispatcher", "HandlerCall", "SeenEvents", "in_handler"]

logger = logging.getLogger("symbot.bot")

MAX_TIMED_HANDLERS = 256
"""Handler names timed apart; calls of any further name are timed together as "other"."""


class HandlerCall(Protocol):
    """A handler bound to one event (such as `symbot.bot.Invocation`): calling it gives
    the handler's coroutine; `name` is read only for log lines."""

    @property
    def name(self) -> str: ...

    def __call__(self) -> Awaitable[object]: ...


Router = Callable[[Event], Sequence[HandlerCall]]
ErrorHook = Callable[[Exception, Event], Awaitable[object]]

_in_handler: contextvars.ContextVar[bool] = contextvars.ContextVar("symbot_in_handler")


def in_handler() -> bool:
    """True inside a handler run by a dispatcher (so `Bot.stop()` knows not to wait for
    the handler's own batch)."""
    return _in_handler.get(False)


@define
class DispatchStats:
    """Counters of what the dispatcher did with the events it was given, and how long each
    handler took (`handler_seconds`: a histogram per handler name)."""

    batches: int = 0
    events_received: int = 0
    events_handled: int = 0
    duplicates_dropped: int = 0
    own_events_ignored: int = 0
    malformed_events: int = 0
    handler_calls: int = 0
    handler_errors: int = 0
    redeliveries: int = 0
    slow_batches: int = 0
    handler_seconds: dict[str, Histogram] = Factory(dict)

    def timed(self, name: str, seconds: float) -> None:
        """Count one call of handler `name` that took `seconds`."""
        histogram = self.handler_seconds.get(name)
        if histogram is None:
            if len(self.handler_seconds) >= MAX_TIMED_HANDLERS:
                name = "other"
            histogram = self.handler_seconds.setdefault(name, Histogram())
        histogram.observe(seconds)


class SeenEvents:
    """A bounded set of event ids, least recently seen evicted first. `ids` is the ordered
    dict itself, for the dispatcher's hot path: a lookup there does not refresh an id, and
    what is stored there directly is evicted only at the next `trim()` or `add()`."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"dedupe capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        if event_id not in self.ids:
            return False
        self.ids.move_to_end(event_id)  # type: ignore[arg-type]
        return True

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, event_id: str) -> None:
        ids = self.ids
        if event_id in ids:
            ids.move_to_end(event_id)
            return
        ids[event_id] = None
        self.trim()

    def trim(self) -> None:
        """Forget the least recently seen ids beyond the capacity."""
        ids = self.ids
        while len(ids) > self.capacity:
            ids.popitem(last=False)


class Dispatcher:
    """Runs the handlers `route` picks for each event of a batch; see the module docstring.

    Built complete, for one serving of a bot: `route(event)` returns the handler calls for one
    event (it must not raise; a router error is logged and the event skipped);
    `on_error(exc, event)` hears of every handler failure (its own failures are logged and
    swallowed); `parse` turns a raw event into an `Event` (the bot's gives each message the
    bot's replier); events initiated by `own_user_id` are skipped (None: none are);
    `limiter` caps the handlers running at once; `seen` remembers the ids of handled events
    and `stats` counts, both kept by the bot across restarts; a batch slower than
    `visibility_timeout` seconds is warned of.
    """

    def __init__(
        self,
        route: Router,
        *,
        on_error: ErrorHook,
        parse: Callable[[Mapping[str, object]], Event] = parse_event,
        own_user_id: int | None = None,
        limiter: anyio.CapacityLimiter | None = None,
        seen: SeenEvents | None = None,
        stats: DispatchStats | None = None,
        visibility_timeout: float = 30.0,
    ) -> None:
        self._route = route
        self._on_error = on_error
        self._parse = parse
        self._own_user_id = own_user_id
        self._limiter = limiter if limiter is not None else anyio.CapacityLimiter(64)
        self.seen = seen if seen is not None else SeenEvents(10_000)
        self.stats = stats if stats is not None else DispatchStats()
        self._visibility_timeout = visibility_timeout

    async def dispatch(self, raw_events: Sequence[object]) -> bool:
        """Handle a batch; True when it may be acknowledged (no handler asked for redelivery).
        Raises only cancellation."""
        self.stats.batches += 1
        self.stats.events_received += len(raw_events)
        started = anyio.current_time()
        groups = self._group(raw_events)
        outcome = _Outcome()
        if len(groups) == 1:
            await self._acquire()
            token = _in_handler.set(True)
            try:
                await self._run_group(next(iter(groups.values())), outcome)
            finally:
                _in_handler.reset(token)
                self._limiter.release()
        elif groups:
            await self._run_groups(deque(groups.values()), outcome)
        elapsed = anyio.current_time() - started
        if elapsed > self._visibility_timeout:
            self.stats.slow_batches += 1
            logger.warning(
                "a batch of %d event(s) took %.1f s, longer than the %.0f s visibility "
                "timeout: the agent has probably re-queued it. This process drops the "
                "duplicates, but another instance may handle them again; make slow handlers "
                "hand their work off instead of blocking the stream",
                len(raw_events),
                elapsed,
                self._visibility_timeout,
            )
        return not outcome.redeliver

    async def _run_groups(self, pending: deque[list[Event]], outcome: _Outcome) -> None:
        """Every group, each in one worker from start to end. A worker takes the next group
        when it is done with one; this task starts another worker each time it gets to run
        while groups are left, which is when the workers are all waiting. A worker holds
        one slot of the limiter while it runs (one group at a time): it takes its first
        group before it may wait for the slot, so there are never more workers than groups."""

        async def work() -> None:
            if not pending:  # the others took every group before this worker started
                return
            _in_handler.set(True)  # in this worker's own context
            group = pending.popleft()
            await self._acquire()
            try:
                await self._run_group(group, outcome)
                while pending:
                    await self._run_group(pending.popleft(), outcome)
            finally:
                self._limiter.release()

        async with anyio.create_task_group() as workers:
            while pending:
                workers.start_soon(work)
                await anyio.lowlevel.checkpoint()

    def _group(self, raw_events: Sequence[object]) -> dict[str | None, list[Event]]:
        """Parse, drop duplicates and own events, and group by stream, in order."""
        groups: dict[str | None, list[Event]] = {}
        batch_ids: set[str] = set()
        seen, stats, parse, own_user_id = self.seen, self.stats, self._parse, self._own_user_id
        seen_ids = seen.ids
        for raw in raw_events:
            try:  # a plain dict is the usual case: no ABC check for it
                event = parse(raw if type(raw) is dict else _mapping(raw))
            except Exception as exc:
                self._skip_malformed(raw, exc)
                continue
            event_id = event.id
            if event_id in batch_ids or event_id in seen_ids:
                if event_id in seen_ids:
                    seen.add(event_id)  # seen again: remembered for longer
                stats.duplicates_dropped += 1
                logger.debug("dropping duplicate event %s", event_id)
                continue
            batch_ids.add(event_id)
            initiator = event.initiator
            if initiator is None and type(event) is MessageSentEvent:
                initiator = event.message.sender
            if initiator is not None and initiator.user_id == own_user_id:  # None: never
                stats.own_events_ignored += 1
                seen.add(event_id)
                continue
            stream_id = event.stream_id
            group = groups.get(stream_id)
            if group is None:
                groups[stream_id] = [event]
            else:
                group.append(event)
        return groups

    def _skip_malformed(self, raw: object, exc: Exception) -> None:
        self.stats.malformed_events += 1
        if isinstance(exc, EventParseError):
            logger.warning("skipping event %s: %s", exc.event_id or "<no id>", exc.problem)
            return
        event_id = raw.get("id") if isinstance(raw, Mapping) else None
        logger.error(
            "skipping event %s: the parser failed on it", event_id or "<no id>", exc_info=exc
        )

    async def _acquire(self) -> None:
        """A slot of the limiter, without a scheduling round trip while one is free."""
        try:
            self._limiter.acquire_nowait()
        except anyio.WouldBlock:
            await self._limiter.acquire()

    async def _run_group(self, events: list[Event], outcome: _Outcome) -> None:
        """The events of one stream in order (the caller holds a slot of the limiter);
        stops at one whose handler asked for redelivery (the rest is redelivered with it)."""
        try:
            debug = logger.isEnabledFor(logging.DEBUG)
            stats, seen_ids, route = self.stats, self.seen.ids, self._route
            clock, timed = time.perf_counter, stats.timed
            for event in events:
                try:
                    calls = route(event)
                except Exception:
                    logger.exception(
                        "routing event %s (%s) failed; skipping it", event.id, event.type
                    )
                    calls = ()
                keep = True
                for call in calls:
                    stats.handler_calls += 1
                    name = call.name
                    if debug:
                        _log_call(name, event)
                    started = clock()
                    try:
                        await call()
                    except Redeliver:
                        timed(name, clock() - started)
                        stats.redeliveries += 1
                        logger.info("handler %s asked to redeliver event %s", name, event.id)
                        keep = False
                    except Exception as exc:
                        timed(name, clock() - started)
                        stats.handler_errors += 1
                        logger.exception(
                            "handler %s failed on event %s (%s) in stream %s",
                            name,
                            event.id,
                            event.type,
                            event.stream_id,
                        )
                        await self._report(exc, event)
                    else:
                        timed(name, clock() - started)
                if not keep:
                    outcome.redeliver = True
                    return
                seen_ids[event.id] = None  # new: a duplicate never gets this far
                stats.events_handled += 1
        finally:
            self.seen.trim()

    async def _report(self, exc: Exception, event: Event) -> None:
        try:
            await self._on_error(exc, event)
        except Exception:
            logger.exception("on_error failed while reporting a failure on event %s", event.id)


@define
class _Outcome:
    redeliver: bool = False


def _mapping(raw: object) -> Mapping[str, object]:
    """`raw` if it is a JSON object; else the EventParseError to skip it with."""
    if isinstance(raw, MalformedEvent):
        raise EventParseError(raw.event_id, "not valid JSON")
    if not isinstance(raw, Mapping):
        raise EventParseError(None, f"a JSON {type(raw).__name__}, not an object")
    return raw


def _log_call(name: str, event: Event) -> None:
    """The DEBUG line for one handler call: which event, of what type, where, from whom."""
    logger.debug(
        "event %s (%s) in stream %s from user %s: running handler %s",
        event.id,
        event.type,
        event.stream_id,
        event.initiator.user_id if event.initiator is not None else None,
        name,
    )
