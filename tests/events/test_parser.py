"""The one event parser: what it builds equals what the constructors build, and every field
it checks names its path when it is wrong."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symbot.datafeed import MessageSentEvent, SharedPostEvent, UserJoinedRoomEvent, parse_event
from symbot.errors import EventParseError
from symbot.messages import Message, Stream, User

from .support import ABSENT, FIXTURES, TS, changed

Json = dict[str, Any]


async def _replier(stream_id: str, message_ml: str, data: object) -> None:
    return None


# --- valid events, drawn at random, beside the objects they stand for ------------------------


@st.composite
def _mapping(draw: st.DrawFn, fields: Json) -> Mapping[str, Any]:
    """`fields` (without the absent ones) as a dict, or as another kind of mapping, with a
    field the parser does not know, sometimes."""
    present = {key: value for key, value in fields.items() if value is not ABSENT}
    if draw(st.booleans()):
        present["futureField"] = draw(st.none() | st.integers() | st.text(max_size=3))
    return MappingProxyType(present) if draw(st.booleans()) else present


_text = st.text(max_size=8)
_ids = st.text(min_size=1, max_size=8)


@st.composite
def _optional_text(draw: st.DrawFn) -> tuple[object, str | None]:
    """(what the JSON holds: absent, null or a string, the value it stands for)."""
    return draw(st.sampled_from([(ABSENT, None), (None, None)]) | _text.map(lambda t: (t, t)))


@st.composite
def _integer(draw: st.DrawFn, *, optional: bool) -> tuple[object, int | None]:
    """(an integer, or the same as an integral float; if optional, also absent or null)."""
    value = draw(st.integers(min_value=-(2**53), max_value=2**53))
    choices = [(value, value), (float(value), value)]
    return draw(st.sampled_from([*choices, (ABSENT, None), (None, None)] if optional else choices))


@st.composite
def users(draw: st.DrawFn) -> tuple[Mapping[str, Any], User]:
    user_id, expected_id = draw(_integer(optional=False))
    keys = ("username", "displayName", "firstName", "lastName", "email")
    texts = {key: draw(_optional_text()) for key in keys}
    raw = draw(_mapping({"userId": user_id, **{key: texts[key][0] for key in keys}}))
    assert expected_id is not None
    return raw, User(expected_id, *(texts[key][1] for key in keys))


@st.composite
def streams(draw: st.DrawFn) -> tuple[Mapping[str, Any], Stream]:
    stream_id = draw(_ids)
    (stream_type, expected_type), (room, expected_room) = (
        draw(_optional_text()),
        draw(_optional_text()),
    )
    members = draw(st.none() | st.lists(users(), max_size=2))
    raw_members = ABSENT if members is None else [raw for raw, _ in members]
    fields = {"streamId": stream_id, "streamType": stream_type, "roomName": room}
    raw = draw(_mapping({**fields, "members": raw_members}))
    expected_members = tuple(user for _, user in members or ())
    return raw, Stream(stream_id, expected_type, expected_room, expected_members)


_entity_json: st.SearchStrategy[Any] = st.sampled_from(
    [
        ABSENT,
        None,
        "",
        "{}",
        "{not json",
        '{"0": {"type": "com.symphony.user.mention", "id": [{"value": "7"}]}}',
        {"0": {"type": "com.symphony.user.mention", "id": [{"value": 8}]}},
    ]
)
_presentation = st.sampled_from(
    [
        '<div data-format="PresentationML" data-version="2.0">hello</div>',
        '<div><span class="entity" data-entity-id="0">@Bot</span> /help me</div>',
        "<p>a &amp; b</p>",
    ]
) | st.text(max_size=12)


@st.composite
def messages(
    draw: st.DrawFn, event_timestamp: int, sender: tuple[Mapping[str, Any], User] | None
) -> tuple[Mapping[str, Any], Message]:
    """A V4Message and its `Message`; its sender is `sender` (JSON and user) if given."""
    message_id = draw(_ids)
    timestamp, expected_timestamp = draw(_integer(optional=True))
    markup, expected_markup = draw(
        st.sampled_from([(ABSENT, ""), (None, "")]) | _presentation.map(lambda t: (t, t))
    )
    raw_stream, stream = draw(streams())
    raw_user, user = sender if sender is not None else draw(users())
    data = draw(_entity_json)
    fields = {"messageId": message_id, "timestamp": timestamp, "message": markup}
    raw = draw(_mapping({**fields, "stream": raw_stream, "user": raw_user, "data": data}))
    expected = Message(
        message_id=message_id,
        stream=stream,
        sender=user,
        timestamp=event_timestamp if expected_timestamp is None else expected_timestamp,
        presentation_ml=expected_markup,
        data=None if data is ABSENT else data,
    )
    return raw, expected


@st.composite
def message_sent_events(draw: st.DrawFn) -> tuple[Mapping[str, Any], MessageSentEvent]:
    """A MESSAGESENT V4Event and its event. The sender is its initiator, usually: then the
    message holds the initiator's JSON itself, a copy of it, or its own user."""
    event_id = draw(_ids)
    timestamp, expected_timestamp = draw(_integer(optional=True))
    timestamp_or_zero = expected_timestamp or 0
    initiator = draw(st.none() | users())
    sender = None
    if initiator is not None:
        sender = draw(st.sampled_from([initiator, (dict(initiator[0]), initiator[1])]))
        sender = sender if draw(st.booleans()) else None
    raw_message, message = draw(messages(timestamp_or_zero, sender))
    raw_initiator = (
        draw(st.sampled_from([ABSENT, None, {"user": None}, {}]))
        if initiator is None
        else draw(_mapping({"user": initiator[0]}))
    )
    payload = draw(_mapping({"messageSent": draw(_mapping({"message": raw_message}))}))
    common = {"id": event_id, "type": "MESSAGESENT", "timestamp": timestamp}
    raw = draw(_mapping({**common, "initiator": raw_initiator, "payload": payload}))
    expected = MessageSentEvent(
        id=event_id,
        type="MESSAGESENT",
        timestamp=timestamp_or_zero,
        initiator=None if initiator is None else initiator[1],
        message=message,
    )
    return raw, expected


@given(message_sent_events())
def test_a_valid_message_sent_parses_to_what_its_constructors_build(
    drawn: tuple[Mapping[str, Any], MessageSentEvent],
) -> None:
    raw, expected = drawn
    event = parse_event(raw, replier=_replier)
    assert event == expected
    assert isinstance(event, MessageSentEvent)
    assert event.message.sender == expected.message.sender  # (Message's == compares it too)
    assert event.message.can_reply
    assert event.raw is raw


@given(users(), streams())
def test_valid_member_events_parse_to_what_their_constructors_build(
    user: tuple[Mapping[str, Any], User], stream: tuple[Mapping[str, Any], Stream]
) -> None:
    raw = {
        "id": "e1",
        "type": "USERJOINEDROOM",
        "timestamp": TS,
        "payload": {"userJoinedRoom": {"stream": stream[0], "affectedUser": user[0]}},
    }
    expected = UserJoinedRoomEvent(
        id="e1", type="USERJOINEDROOM", timestamp=TS, stream=stream[1], affected_user=user[1]
    )
    assert parse_event(raw) == expected


# --- every field the parser checks names its path when it is wrong ---------------------------

STRING, INTEGER, OBJECT, ARRAY = "a string", "an integer", "an object", "an array"
WRONG_VALUES: dict[str, list[object]] = {
    STRING: [5, 1.5, True, [], {"a": 1}],
    INTEGER: ["5", 1.5, True, [], {"a": 1}],
    OBJECT: ["x", 5, True, []],
    ARRAY: ["x", 5, {"a": 1}],
}
USER = {
    "userId": (INTEGER, True),
    **{key: (STRING, False) for key in ("username", "displayName", "firstName", "lastName")},
    "email": (STRING, False),
}
STREAM = {"streamId": (STRING, True), "streamType": (STRING, False), "roomName": (STRING, False)}
STREAM_WITH_MEMBERS = {**STREAM, "members": ([USER], False)}
MESSAGE = {
    "messageId": (STRING, True),
    "timestamp": (INTEGER, False),
    "message": (STRING, False),
    "stream": (STREAM, True),
    "user": (USER, True),
}
SCHEMA: dict[str, Any] = {
    "type": (STRING, True),
    "timestamp": (INTEGER, False),
    "initiator": ({"user": (USER, False)}, False),
}
PAYLOADS: dict[str, dict[str, Any]] = {
    "messageSent": {"message": (MESSAGE, True)},
    "sharedPost": {"message": (MESSAGE, True), "sharedMessage": (MESSAGE, False)},
    "instantMessageCreated": {"stream": (STREAM_WITH_MEMBERS, True)},
    "roomCreated": {"stream": (STREAM, True), "roomProperties": (OBJECT, False)},
    "roomUpdated": {"stream": (STREAM, True), "newRoomProperties": (OBJECT, False)},
    "roomDeactivated": {"stream": (STREAM, True)},
    "roomReactivated": {"stream": (STREAM, True)},
    **{
        key: {"stream": (STREAM, True), "affectedUser": (USER, True)}
        for key in (
            "userJoinedRoom",
            "userLeftRoom",
            "roomMemberPromotedToOwner",
            "roomMemberDemotedFromOwner",
        )
    },
    "connectionRequested": {"toUser": (USER, True)},
    "connectionAccepted": {"fromUser": (USER, True)},
    "messageSuppressed": {"messageId": (STRING, True), "stream": (STREAM, False)},
    "symphonyElementsAction": {
        "stream": (STREAM, True),
        "formMessageId": (STRING, False),
        "formId": (STRING, False),
        "formValues": (OBJECT, False),
    },
    "userRequestedToJoinRoom": {"stream": (STREAM, True), "affectedUsers": ([USER], False)},
    "genericSystemEvent": {
        "stream": (STREAM, False),
        "eventTimestamp": (INTEGER, False),
        "sourceSystem": (STRING, False),
        "eventSubtype": (STRING, False),
        "parameters": (OBJECT, False),
    },
}


def checked_fields(
    raw: Any, schema: Mapping[str, Any], where: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str, bool]]:
    """(path, JSON kind, required) of every field of `schema` present in `raw`, nested ones
    included (one array item each)."""
    for key, (kind, required) in schema.items():
        if key not in raw:
            continue
        path = (*where, key)
        if isinstance(kind, dict):
            yield path, OBJECT, required
            yield from checked_fields(raw[key], kind, path)
        elif isinstance(kind, list):
            yield path, ARRAY, required
            if raw[key]:
                yield (*path, 0), OBJECT, True
                yield from checked_fields(raw[key][0], kind[0], (*path, 0))
        else:
            yield path, kind, required


def dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)[1:]


def every_faulty_field() -> Iterator[tuple[Json, str, str]]:
    """(an event with one faulty field, its path, the problem) for each field each fixture
    has, each wrong JSON type for it, and its absence if it is required."""
    for raw in FIXTURES.values():
        [payload_key] = raw["payload"]
        schema = {**SCHEMA, "payload": ({payload_key: (PAYLOADS[payload_key], True)}, True)}
        for path, kind, required in checked_fields(raw, schema):
            for wrong in WRONG_VALUES[kind]:
                got = "a boolean" if wrong is True else _kind_of(wrong)
                yield changed(raw, path, wrong), dotted(path), f"expected {kind}, got {got}"
            if isinstance(path[-1], int):  # an item of an array
                yield changed(raw, path, None), dotted(path), "expected an object, got null"
            elif required:
                yield changed(raw, path, ABSENT), dotted(path), "missing"
                if kind == STRING:
                    yield changed(raw, path, ""), dotted(path), "missing"
                if kind != ARRAY:
                    yield changed(raw, path, None), dotted(path), "missing"


def _kind_of(value: object) -> str:
    kinds = {str: "a string", int: "a number", float: "a number", list: "an array"}
    return kinds.get(type(value), "an object")


def test_every_checked_field_names_its_path_when_it_is_wrong_or_missing() -> None:
    cases = list(every_faulty_field())
    assert len(cases) > 500  # every type, every field
    for raw, path, problem in cases:
        with pytest.raises(EventParseError) as caught:
            parse_event(raw)
        assert caught.value.event_id == raw["id"]
        assert caught.value.problem == f"{path}: {problem}", (path, problem)


def test_a_boolean_user_id_is_refused_even_where_it_equals_the_initiators() -> None:
    raw = copy.deepcopy(FIXTURES["MESSAGESENT"])
    raw["initiator"]["user"]["userId"] = 1
    raw["payload"]["messageSent"]["message"]["user"] = {**raw["initiator"]["user"], "userId": True}
    with pytest.raises(EventParseError) as caught:
        parse_event(raw)
    assert caught.value.problem == (
        "payload.messageSent.message.user.userId: expected an integer, got a boolean"
    )


def test_the_sender_is_read_from_its_own_json_when_it_differs_from_the_initiators() -> None:
    raw = copy.deepcopy(FIXTURES["MESSAGESENT"])
    raw["payload"]["messageSent"]["message"]["user"]["displayName"] = "Renamed"
    event = parse_event(raw)
    assert isinstance(event, MessageSentEvent)
    assert event.initiator is not None
    assert event.initiator.display_name == "Alice Arden"
    assert event.message.sender.display_name == "Renamed"


def test_the_replier_is_bound_to_message_sent_events_only() -> None:
    sent = FIXTURES["MESSAGESENT"]
    for raw in (sent, MappingProxyType(sent)):
        event = parse_event(raw, replier=_replier)
        assert isinstance(event, MessageSentEvent)
        assert event.message.can_reply
        assert not parse_event(raw).message.can_reply  # type: ignore[attr-defined]
    shared = parse_event(FIXTURES["SHAREDPOST"], replier=_replier)
    assert isinstance(shared, SharedPostEvent)
    assert not shared.message.can_reply


def _nested(depth: int) -> Json:
    value: Json = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"deeper": value}
    return value


@pytest.mark.parametrize(
    ("event_type", "key", "path"),
    [
        ("SYMPHONYELEMENTSACTION", "formValues", "payload.symphonyElementsAction.formValues"),
        ("GENERICSYSTEMEVENT", "parameters", "payload.genericSystemEvent.parameters"),
        ("ROOMCREATED", "roomProperties", "payload.roomCreated.roomProperties"),
    ],
)
def test_a_free_form_part_nested_too_deep_makes_the_event_malformed(
    event_type: str, key: str, path: str
) -> None:
    """A batch's depth is not walked (it costs as much as decoding it): the parts an event
    hands out as they are get bounded by the parser instead."""
    event = copy.deepcopy(FIXTURES[event_type])
    payload = next(iter(event["payload"].values()))
    payload[key] = _nested(59)
    parse_event(event)  # within the bound
    payload[key] = _nested(200)
    with pytest.raises(EventParseError, match=rf"{path}: JSON nested more than 60 levels"):
        parse_event(event)
