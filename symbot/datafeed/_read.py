"""The body of a datafeed read (`V5EventList`): its events and its ackId, salvaged if need be.

A read's body is decoded like every answer symbot reads (`symbot.transport.parse_json`: no
`RecursionError`, no `MemoryError`), except that its depth is not walked here: the event
parser reads events field by field and bounds the free-form parts it hands out. When it is
not valid JSON because one event in it is broken (or nests too deeply to decode), the rest
is salvaged: the ackId is read from
the end, every well-formed event is kept, and each broken fragment becomes a
`MalformedEvent` (which the dispatcher logs and skips). Without this, one bad event would
make its whole batch unreadable and unacknowledgeable, forever.

Salvage is bounded too: it gives up (the read is then retried like any malformed answer)
once it has scanned the body a few times over, so no body can make it run for long.
"""

from __future__ import annotations

import json
import re

from attrs import field, frozen

from symbot.transport import JsonError, parse_json, parse_json_at

__all__ = ["MalformedEvent", "parse_read_body"]

MALFORMED_EVENT_CHARS = 4096
"""How much of a broken event's text a `MalformedEvent` keeps (for its id and the log)."""


def _clip(text: str) -> str:
    return text[:MALFORMED_EVENT_CHARS]


@frozen
class MalformedEvent:
    """A fragment of a read response that is not valid JSON, kept (its first
    `MALFORMED_EVENT_CHARS` characters) so it can be logged."""

    text: str = field(converter=_clip)

    @property
    def event_id(self) -> str | None:
        found = re.search(r'"id"\s*:\s*"([^"\\]{1,200})"', self.text)
        return found.group(1) if found else None


_ACK_TAIL = re.compile(r'"ackId"\s*:\s*("(?:[^"\\]|\\.){0,1000}")\s*}\s*$')
_TAIL_CHARS = 2100  # where the ackId (at most 1,000 characters) must be: at the end
_SCAN_BUDGET = 4  # salvage may scan the body this many times over, then gives up


def parse_read_body(body: bytes) -> tuple[list[object], str]:
    """The events and ackId of a V5EventList body; see the module docstring.

    `JsonError` (a `ValueError`) when even the ackId cannot be found, or the body is not a
    V5EventList.
    """
    try:
        payload = parse_json(body, max_depth=None)
    except JsonError:
        return _salvage(body.decode("utf-8", errors="replace"))
    if not isinstance(payload, dict) or not isinstance(payload.get("ackId"), str):
        raise JsonError("unexpected shape", "the datafeed read answered a body without an ackId")
    events = payload.get("events") or []
    if not isinstance(events, list):
        raise JsonError(
            "unexpected shape", "the datafeed read answered 'events' that is not a list"
        )
    return events, payload["ackId"]


def _salvage(text: str) -> tuple[list[object], str]:
    tail = _ACK_TAIL.search(text, max(0, len(text) - _TAIL_CHARS))
    start = text.find("[", text.find('"events"'))
    if tail is None or start < 0 or start > tail.start():
        raise JsonError("not JSON", "the datafeed read answered a body that has no ackId")
    ack_id: str = json.loads(tail.group(1))
    region = text[start + 1 : tail.start()]
    region = region.rstrip().rstrip(",").rstrip().removesuffix("]")
    budget = _Budget(_SCAN_BUDGET * max(len(region), 1))
    events: list[object] = []
    pos = 0
    while True:
        while pos < len(region) and region[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(region):
            return events, ack_id
        decoded = _decode_at(region, pos, budget)
        if decoded is not None:
            events.append(decoded[0])
            pos = decoded[1]
            continue
        # A broken fragment: it runs until the next "," + "{" where a whole event decodes.
        end = pos
        while True:
            end = region.find("{", end + 1)
            if end < 0:
                end = len(region)
                break
            if region[:end].rstrip().endswith(",") and _decode_at(region, end, budget):
                break
        events.append(MalformedEvent(region[pos:end].strip().rstrip(",")))
        pos = end


class _Budget:
    """How many characters salvage may still scan in failed attempts."""

    def __init__(self, chars: int) -> None:
        self.chars = chars

    def spend(self, chars: int) -> None:
        self.chars -= chars
        if self.chars < 0:
            raise JsonError("not JSON", "the datafeed read answered a body too broken to salvage")


def _decode_at(text: str, pos: int, budget: _Budget) -> tuple[object, int] | None:
    """The JSON value starting at `pos` and where it ends, if it is followed by a "," or
    nothing; else None. A failed attempt spends what it scanned from `budget`."""
    try:
        value, end = parse_json_at(text, pos)
    except JsonError as exc:
        scanned = exc.position if exc.position is not None else len(text)
        budget.spend(max(scanned - pos, 1))
        return None
    after = text[end:].lstrip()
    return (value, end) if not after or after.startswith(",") else None
