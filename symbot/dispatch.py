"""The dispatcher: one datafeed batch in, handlers run, one answer out — may it be acknowledged?

The contract (DESIGN.md decision 6):

- Events of one stream are handled in order, one after another; different streams run
  concurrently, under one `CapacityLimiter` shared by the whole bot. Events without a
  stream (connection requests, ...) form one group of their own.
- The whole batch is finished before `dispatch` returns, so the next batch (and its
  acknowledgement) waits: this keeps per-stream order across batches too.
- Duplicate event ids are dropped (a re-queued batch, several instances on one feed). An
  id is remembered only once its event was handled, in a bounded LRU, so an event whose
  handler asked for redelivery comes back and is handled again.
- The bot's own events are skipped (by default).
- A failing handler is isolated: logged at ERROR with its traceback, passed to `on_error`,
  and the event counts as handled (it would fail again). A handler raising `Redeliver`
  makes `dispatch` return False (do not acknowledge); the rest of that stream's events in
  the batch are then left for the redelivery too, so their order is kept.
- A malformed event (`EventParseError`, or anything else a parser throws) is logged with
  its id and skipped.
"""

from __future__ import annotations

import contextvars
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import anyio
from attrs import define

from symbot.datafeed import MalformedEvent
from symbot.errors import EventParseError, Redeliver
from symbot.events import Event, parse_event

__all__ = ["DispatchStats", "Dispatcher", "HandlerCall", "SeenEvents", "in_handler"]

logger = logging.getLogger(__name__)

HandlerCall = tuple[str, Callable[[], Awaitable[object]]]
"""A handler bound to one event: (name for logs, zero-argument coroutine function)."""

Router = Callable[[Event], Iterable[HandlerCall]]
ErrorHook = Callable[[Exception, Event], Awaitable[object]]

_in_handler: contextvars.ContextVar[bool] = contextvars.ContextVar("symbot_in_handler")


def in_handler() -> bool:
    """True inside a handler run by a dispatcher (so `Bot.stop()` knows not to wait for
    the handler's own batch)."""
    return _in_handler.get(False)


@define
class DispatchStats:
    """Counters of what the dispatcher did with the events it was given."""

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


class SeenEvents:
    """A bounded set of event ids, least recently seen evicted first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"dedupe capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        if event_id not in self._ids:
            return False
        self._ids.move_to_end(event_id)  # type: ignore[arg-type]
        return True

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class Dispatcher:
    """Runs the handlers `route` picks for each event of a batch; see the module docstring.

    `route(event)` returns the handler calls for one event (it must not raise; a router
    error is logged and the event skipped). `on_error(exc, event)` hears of every handler
    failure; its own failures are logged and swallowed.
    """

    def __init__(
        self,
        route: Router,
        *,
        on_error: ErrorHook,
        concurrency: int = 64,
        dedupe_size: int = 10_000,
        ignore_own_events: bool = True,
        visibility_timeout: float = 30.0,
        parse: Callable[[Mapping[str, object]], Event] = parse_event,
    ) -> None:
        self._route = route
        self._on_error = on_error
        self.parse = parse
        """The event parser (`parse_event`); replaceable, e.g. to measure the rest."""
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.seen = SeenEvents(dedupe_size)
        self.ignore_own_events = ignore_own_events
        self.visibility_timeout = visibility_timeout
        self.own_user_id: int | None = None
        self.stats = DispatchStats()

    async def dispatch(self, raw_events: Sequence[object]) -> bool:
        """Handle a batch; True when it may be acknowledged (no handler asked for redelivery).
        Raises only cancellation."""
        self.stats.batches += 1
        self.stats.events_received += len(raw_events)
        started = anyio.current_time()
        groups = self._group(raw_events)
        outcome = _Outcome()
        if len(groups) == 1:
            await self._run_group(next(iter(groups.values())), outcome)
        elif groups:
            async with anyio.create_task_group() as tg:
                for events in groups.values():
                    tg.start_soon(self._run_group, events, outcome)
        elapsed = anyio.current_time() - started
        if elapsed > self.visibility_timeout:
            self.stats.slow_batches += 1
            logger.warning(
                "a batch of %d event(s) took %.1f s, longer than the %.0f s visibility "
                "timeout: the agent has probably re-queued it. This process drops the "
                "duplicates, but another instance may handle them again; make slow handlers "
                "hand their work off instead of blocking the stream",
                len(raw_events),
                elapsed,
                self.visibility_timeout,
            )
        return not outcome.redeliver

    def _group(self, raw_events: Sequence[object]) -> dict[str | None, list[Event]]:
        groups: dict[str | None, list[Event]] = {}
        batch_ids: set[str] = set()
        for raw in raw_events:
            event = self._parse_one(raw)
            if event is None:
                continue
            if event.id in self.seen or event.id in batch_ids:
                self.stats.duplicates_dropped += 1
                logger.debug("dropping duplicate event %s", event.id)
                continue
            batch_ids.add(event.id)
            if self._is_own(event):
                self.stats.own_events_ignored += 1
                self.seen.add(event.id)
                continue
            groups.setdefault(event.stream_id, []).append(event)
        return groups

    def _parse_one(self, raw: object) -> Event | None:
        try:
            if type(raw) is dict:  # the usual case, without an ABC check
                return self.parse(raw)
            if isinstance(raw, MalformedEvent):
                raise EventParseError(raw.event_id, "not valid JSON")
            if not isinstance(raw, Mapping):
                raise EventParseError(None, f"a JSON {type(raw).__name__}, not an object")
            return self.parse(raw)
        except EventParseError as exc:
            self.stats.malformed_events += 1
            logger.warning("skipping event %s: %s", exc.event_id or "<no id>", exc.problem)
        except Exception:
            self.stats.malformed_events += 1
            event_id = raw.get("id") if isinstance(raw, Mapping) else None
            logger.exception("skipping event %s: the parser failed on it", event_id or "<no id>")
        return None

    def _is_own(self, event: Event) -> bool:
        return (
            self.ignore_own_events
            and self.own_user_id is not None
            and event.initiator is not None
            and event.initiator.user_id == self.own_user_id
        )

    async def _run_group(self, events: list[Event], outcome: _Outcome) -> None:
        try:
            self.limiter.acquire_nowait()  # no scheduling round trip while a slot is free
        except anyio.WouldBlock:
            await self.limiter.acquire()
        token = _in_handler.set(True)
        try:
            for event in events:
                if not await self._handle(event):
                    outcome.redeliver = True
                    return
                self.seen.add(event.id)
                self.stats.events_handled += 1
        finally:
            _in_handler.reset(token)
            self.limiter.release()

    async def _handle(self, event: Event) -> bool:
        """Run every handler for `event`; False if one asked for redelivery."""
        try:
            calls = list(self._route(event))
        except Exception:
            logger.exception("routing event %s (%s) failed; skipping it", event.id, event.type)
            return True
        keep = True
        for name, call in calls:
            self.stats.handler_calls += 1
            try:
                await call()
            except Redeliver:
                self.stats.redeliveries += 1
                logger.info("handler %s asked to redeliver event %s", name, event.id)
                keep = False
            except Exception as exc:
                self.stats.handler_errors += 1
                logger.exception(
                    "handler %s failed on event %s (%s) in stream %s",
                    name,
                    event.id,
                    event.type,
                    event.stream_id,
                )
                await self._report(exc, event)
        return keep

    async def _report(self, exc: Exception, event: Event) -> None:
        try:
            await self._on_error(exc, event)
        except Exception:
            logger.exception("on_error failed while reporting a failure on event %s", event.id)


@define
class _Outcome:
    redeliver: bool = False
