"""Malformed events between good ones: the datafeed loop survives and handles the good ones.

Served emulator on loopback, both anyio backends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from attrs import frozen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbot.emulator import Emulator

from .support import (
    BOT,
    LONG_POLL_TIMEOUT,
    VISIBILITY_TIMEOUT,
    EventSource,
    RecordingBot,
    ServedBot,
    bot_config,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

DEPTH = 5_000  # far beyond the json module's recursion limit (~1,000)

DEEP_FRAGMENTS = {
    # a broken event: the read body is not JSON, so the datafeed salvages it
    "unterminated": "[" * DEPTH,
    # a well-formed event, only deep: the read body is valid JSON
    "well-formed": '{"id":"deep","type":"X","x":' + "[" * DEPTH + "]" * DEPTH + "}",
}


@pytest.mark.parametrize("fragment", DEEP_FRAGMENTS.values(), ids=list(DEEP_FRAGMENTS))
async def test_a_deeply_nested_event_is_skipped_and_the_loop_goes_on(fragment: str) -> None:
    async with Emulator(
        visibility_timeout=VISIBILITY_TIMEOUT, long_poll_timeout=LONG_POLL_TIMEOUT
    ) as emu:
        emu.add_user(BOT)
        source = EventSource(emu, streams=2)
        bot = RecordingBot(bot_config(emu))
        async with ServedBot(bot) as served:
            before = source.inject(3)
            await wait_until(lambda: len(bot.handled) == 3, 20, "the first events")
            emu.inject_event(fragment, to=[BOT])
            after = source.inject(3)
            await wait_until(
                lambda: len(bot.handled) == 6 or not served.alive, 20, "the events after it"
            )
            assert served.alive, "the bot stopped serving"
            assert sorted(bot.handled) == sorted(before + after)  # streams run concurrently
            assert bot.stats.malformed_events == 1


# -- fuzzing -----------------------------------------------------------------------------

PAYLOAD_KEYS = {
    "MESSAGESENT": "messageSent",
    "SHAREDPOST": "sharedPost",
    "INSTANTMESSAGECREATED": "instantMessageCreated",
    "ROOMCREATED": "roomCreated",
    "ROOMUPDATED": "roomUpdated",
    "ROOMDEACTIVATED": "roomDeactivated",
    "ROOMREACTIVATED": "roomReactivated",
    "USERJOINEDROOM": "userJoinedRoom",
    "USERLEFTROOM": "userLeftRoom",
    "ROOMMEMBERPROMOTEDTOOWNER": "roomMemberPromotedToOwner",
    "ROOMMEMBERDEMOTEDFROMOWNER": "roomMemberDemotedFromOwner",
    "CONNECTIONREQUESTED": "connectionRequested",
    "CONNECTIONACCEPTED": "connectionAccepted",
    "MESSAGESUPPRESSED": "messageSuppressed",
    "SYMPHONYELEMENTSACTION": "symphonyElementsAction",
    "USERREQUESTEDTOJOINROOM": "userRequestedToJoinRoom",
    "GENERICSYSTEMEVENT": "genericSystemEvent",
}
_USER = {"userId": 71, "firstName": "F", "lastName": "L", "displayName": "D", "username": "u"}
_STREAM = {"streamId": "c3RyZWFt", "streamType": "ROOM", "roomName": "r"}
_MESSAGE = {
    "messageId": "bWVzc2FnZQ",
    "timestamp": 1,
    "message": '<div data-format="PresentationML" data-version="2.0">hi</div>',
    "data": "{}",
    "user": _USER,
    "stream": _STREAM,
}
# Every field any known type reads, so that each type finds what it looks for.
_PAYLOAD = {
    "message": _MESSAGE,
    "sharedMessage": _MESSAGE,
    "stream": _STREAM,
    "roomProperties": {"name": "r"},
    "newRoomProperties": {"name": "r"},
    "affectedUser": _USER,
    "affectedUsers": [_USER],
    "toUser": _USER,
    "fromUser": _USER,
    "messageId": "bWVzc2FnZQ",
    "formMessageId": "Zm9ybQ",
    "formId": "form",
    "formValues": {"action": "ok"},
    "eventTimestamp": 1,
    "sourceSystem": "s",
    "eventSubtype": "x",
    "parameters": {},
}
_CORRUPTIBLE = [
    ("id",),
    ("type",),
    ("timestamp",),
    ("initiator",),
    ("initiator", "user"),
    ("initiator", "user", "userId"),
    ("payload",),
    ("payload", "*"),
    *(("payload", "*", name) for name in _PAYLOAD),
    *(("payload", "*", "message", name) for name in _MESSAGE),
    *(("payload", "*", "stream", name) for name in _STREAM),
    *(("payload", "*", "affectedUser", name) for name in _USER),
]

ids = st.integers(0, 10**9).map(lambda n: f"fuzz-{n}")  # never a good event's id
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def known_event(event_id: str, event_type: str) -> dict[str, Any]:
    """A V4Event of `event_type` that carries every field any type needs."""
    return {
        "id": event_id,
        "messageId": "bWVzc2FnZQ",
        "timestamp": 1,
        "type": event_type,
        "initiator": {"user": _USER},
        "payload": {PAYLOAD_KEYS[event_type]: _PAYLOAD},
    }


def corrupted(
    event: dict[str, Any], path: tuple[str, ...], value: object, payload_key: str
) -> dict[str, Any]:
    """`event` (deep-copied) with the field at `path` set to `value`; "*" in `path` stands
    for `payload_key`. A path through a field that is no longer an object (an earlier
    corruption replaced it) leaves the event as it is."""
    names = [payload_key if name == "*" else name for name in path]
    event = json.loads(json.dumps(event))
    node = event
    for name in names[:-1]:
        child = node.get(name)
        if not isinstance(child, dict):
            return event
        node = child
    node[names[-1]] = value
    return event


@st.composite
def wrongly_typed_events(draw: st.DrawFn) -> str:
    """A known type with one to three fields replaced by any JSON value (mostly one of
    another type than the field's)."""
    event_type = draw(st.sampled_from(sorted(PAYLOAD_KEYS)))
    event = known_event(draw(ids), event_type)
    for path in draw(st.lists(st.sampled_from(_CORRUPTIBLE), min_size=1, max_size=3)):
        event = corrupted(event, path, draw(json_values), PAYLOAD_KEYS[event_type])
    return json.dumps(event)


@st.composite
def truncated_events(draw: st.DrawFn) -> str:
    """A well-formed event cut short: it opens brackets and never closes them."""
    text = json.dumps(known_event(draw(ids), draw(st.sampled_from(sorted(PAYLOAD_KEYS)))))
    return text[: draw(st.integers(1, len(text) - 1))]


# Text (rarely JSON) without "]" or "}": a fragment that closes brackets it never opened can turn
# the whole read body into valid JSON of another shape (the good events after it swallowed
# into it, a forged ackId), and no agent ever sends that; broken events from a real agent are
# cut short or garbled, which this and the truncated events cover. Lone surrogates cannot be
# sent as UTF-8 at all.
garbage = st.text(st.characters(blacklist_characters="]}", blacklist_categories=["Cs"]))

malformed_events = st.one_of(
    json_values.map(json.dumps), wrongly_typed_events(), truncated_events(), garbage
)


@frozen
class FuzzTarget:
    """What a fuzzing example works with."""

    emu: Emulator
    source: EventSource
    bot: RecordingBot
    served: ServedBot[RecordingBot]


@pytest.fixture
async def fuzz_target() -> AsyncIterator[FuzzTarget]:
    """One served bot for every example of a test: starting one per example would make the
    run mostly logins."""
    async with Emulator(
        visibility_timeout=VISIBILITY_TIMEOUT, long_poll_timeout=LONG_POLL_TIMEOUT
    ) as emu:
        emu.add_user(BOT)
        source = EventSource(emu, streams=4, prefix="good")
        bot = RecordingBot(bot_config(emu))
        async with ServedBot(bot) as served:
            yield FuzzTarget(emu, source, bot, served)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # shared on purpose
)
@given(fragments=st.lists(st.tuples(malformed_events, st.booleans()), min_size=1, max_size=6))
async def test_fuzzed_malformed_events_never_stop_the_loop_and_the_good_ones_are_handled(
    fuzz_target: FuzzTarget, fragments: list[tuple[str, bool]]
) -> None:
    target = fuzz_target
    good = target.source.inject(1)
    for fragment, pause in fragments:  # a pause splits the example into several reads
        target.emu.inject_event(fragment, to=[BOT])
        good += target.source.inject(1)
        if pause:
            await anyio.sleep(0.01)
    handled = target.bot.handled
    await wait_until(
        lambda: set(good) <= set(handled) or not target.served.alive, 20, "the good events"
    )
    assert target.served.alive, "the bot stopped serving"
    assert set(good) <= set(handled)
