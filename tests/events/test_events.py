"""parse_event: every V4Event type from realistic JSON, unknown types, malformed events."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from symbot.datafeed import (
    EVENT_CLASSES,
    ConnectionAcceptedEvent,
    ConnectionRequestedEvent,
    Event,
    GenericSystemEvent,
    InstantMessageCreatedEvent,
    MessageSentEvent,
    MessageSuppressedEvent,
    RoomCreatedEvent,
    RoomDeactivatedEvent,
    RoomMemberDemotedFromOwnerEvent,
    RoomMemberPromotedToOwnerEvent,
    RoomReactivatedEvent,
    RoomUpdatedEvent,
    SharedPostEvent,
    SymphonyElementsActionEvent,
    UserJoinedRoomEvent,
    UserLeftRoomEvent,
    UserRequestedToJoinRoomEvent,
    parse_event,
)
from symbot.errors import EventParseError
from symbot.messages import Stream, User, parse_message

from .support import (
    ABSENT,
    BOB,
    BOT_ID,
    FIXTURES,
    IM,
    MENTION_DATA,
    ROOM,
    TS,
    changed,
    v4_event,
    v4_message,
)


def test_every_documented_event_type_has_a_fixture_and_a_class() -> None:
    assert set(FIXTURES) == set(EVENT_CLASSES)


@pytest.mark.parametrize("event_type", sorted(FIXTURES))
def test_each_event_type_parses_into_its_own_class(event_type: str) -> None:
    raw = FIXTURES[event_type]
    event = parse_event(raw)
    assert type(event) is EVENT_CLASSES[event_type]
    assert (event.id, event.type, event.timestamp) == (raw["id"], event_type, TS)
    assert event.initiator == User(
        349026222342678, "alice", "Alice Arden", "Alice", "Arden", "alice@example.com"
    )
    assert event.raw is raw


def test_message_sent_carries_a_full_message() -> None:
    event = parse_event(FIXTURES["MESSAGESENT"])
    assert isinstance(event, MessageSentEvent)
    msg = event.message
    assert msg.message_id == "msgAbC-1"
    assert msg.text == "hello"
    assert msg.stream == Stream(ROOM["streamId"], "ROOM", "Ops")
    assert msg.sender.username == "alice"
    assert msg.timestamp == TS
    assert msg.data == {}
    assert event.stream_id == ROOM["streamId"]


def test_message_with_mention_parses_data_string_into_mentions() -> None:
    pml = '<span class="entity" data-entity-id="0">@Bot</span> /status'
    raw = v4_event("MESSAGESENT", "messageSent", {"message": v4_message(pml, data=MENTION_DATA)})
    msg = parse_event(raw).message  # type: ignore[attr-defined]
    assert msg.mentions == (BOT_ID,)
    assert msg.mentions_user(BOT_ID)
    assert msg.text == "@Bot /status"
    assert msg.text_without_mention(BOT_ID) == "/status"


def test_malformed_entity_json_gives_empty_data_not_an_error() -> None:
    raw = v4_event("MESSAGESENT", "messageSent", {"message": v4_message(data="{not json")})
    msg = parse_event(raw).message  # type: ignore[attr-defined]
    assert (msg.data, msg.mentions) == ({}, ())


def test_shared_post_has_both_messages() -> None:
    event = parse_event(FIXTURES["SHAREDPOST"])
    assert isinstance(event, SharedPostEvent)
    assert event.message.text == "look"
    assert event.shared_message is not None
    assert event.shared_message.text == "news"


def test_room_events_carry_stream_and_properties() -> None:
    created = parse_event(FIXTURES["ROOMCREATED"])
    updated = parse_event(FIXTURES["ROOMUPDATED"])
    assert isinstance(created, RoomCreatedEvent)
    assert isinstance(updated, RoomUpdatedEvent)
    assert created.room_properties["description"] == "Operations"
    assert updated.room_properties["keywords"] == [{"key": "region", "value": "EMEA"}]
    assert created.stream.is_room
    assert created.stream_id == ROOM["streamId"]
    for name in ("ROOMDEACTIVATED", "ROOMREACTIVATED"):
        event = parse_event(FIXTURES[name])
        assert isinstance(event, RoomDeactivatedEvent | RoomReactivatedEvent)
        assert event.stream.room_name == "Ops"


def test_im_created_lists_members() -> None:
    event = parse_event(FIXTURES["INSTANTMESSAGECREATED"])
    assert isinstance(event, InstantMessageCreatedEvent)
    assert [m.username for m in event.stream.members] == ["alice", "bob"]
    assert not event.stream.is_room


@pytest.mark.parametrize(
    "event_type",
    ["USERJOINEDROOM", "USERLEFTROOM", "ROOMMEMBERPROMOTEDTOOWNER", "ROOMMEMBERDEMOTEDFROMOWNER"],
)
def test_member_events_name_the_affected_user(event_type: str) -> None:
    event = parse_event(FIXTURES[event_type])
    assert isinstance(
        event,
        UserJoinedRoomEvent
        | UserLeftRoomEvent
        | RoomMemberPromotedToOwnerEvent
        | RoomMemberDemotedFromOwnerEvent,
    )
    assert event.affected_user == User(349026222342679, "bob", "Bob B")
    assert event.stream_id == ROOM["streamId"]


def test_connection_events_have_no_stream() -> None:
    requested = parse_event(FIXTURES["CONNECTIONREQUESTED"])
    accepted = parse_event(FIXTURES["CONNECTIONACCEPTED"])
    assert isinstance(requested, ConnectionRequestedEvent)
    assert isinstance(accepted, ConnectionAcceptedEvent)
    assert requested.to_user.username == accepted.from_user.username == "bob"
    assert requested.stream_id is None
    assert accepted.stream_id is None


def test_suppressed_elements_join_request_and_generic_events() -> None:
    suppressed = parse_event(FIXTURES["MESSAGESUPPRESSED"])
    assert isinstance(suppressed, MessageSuppressedEvent)
    assert (suppressed.message_id, suppressed.stream_id) == ("msgAbC-1", ROOM["streamId"])
    action = parse_event(FIXTURES["SYMPHONYELEMENTSACTION"])
    assert isinstance(action, SymphonyElementsActionEvent)
    assert (action.form_id, action.form_message_id) == ("order-form", "formMsg-9")
    assert action.form_values == {"action": "submit", "quantity": "3"}
    assert action.stream_id == IM["streamId"]
    join = parse_event(FIXTURES["USERREQUESTEDTOJOINROOM"])
    assert isinstance(join, UserRequestedToJoinRoomEvent)
    assert [u.username for u in join.affected_users] == ["alice", "bob"]
    generic = parse_event(FIXTURES["GENERICSYSTEMEVENT"])
    assert isinstance(generic, GenericSystemEvent)
    assert (generic.source_system, generic.event_subtype) == ("calendar", "meeting.started")
    assert generic.event_timestamp == TS - 5
    assert generic.parameters["attendees"] == 3


def test_unknown_type_is_kept_as_a_plain_event_with_its_raw_json() -> None:
    raw = {"id": "e9", "type": "MESSAGEREACTION", "timestamp": TS, "payload": {"x": {"y": 1}}}
    event = parse_event(raw)
    assert type(event) is Event
    assert (event.type, event.stream_id, event.initiator) == ("MESSAGEREACTION", None, None)
    assert event.raw["payload"] == {"x": {"y": 1}}


def test_repr_stays_short_and_hides_the_raw_json() -> None:
    raw = copy.deepcopy(FIXTURES["MESSAGESENT"])
    raw["payload"]["messageSent"]["message"]["message"] = "<div>" + "x" * 5000 + "</div>"
    text = repr(parse_event(raw))
    assert "raw=" not in text
    assert "presentation_ml" not in text
    assert len(text) < 6000  # the text itself stays visible, not the JSON around it


def test_nulls_count_as_absent_and_extra_fields_are_ignored() -> None:
    raw = v4_event("USERJOINEDROOM", "userJoinedRoom", {"stream": ROOM, "affectedUser": BOB})
    raw.update(initiator=None, futureField={"a": 1}, timestamp=None)
    raw["payload"]["userJoinedRoom"]["affectedUser"] = {**BOB, "email": None, "new": True}
    event = parse_event(raw)
    assert event.initiator is None
    assert event.timestamp == 0
    assert isinstance(event, UserJoinedRoomEvent)
    assert event.affected_user.email is None


def _with(event_type: str, path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    return changed(FIXTURES[event_type], path, value)


_MSG = ("payload", "messageSent", "message")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (_with("MESSAGESENT", ("type",), ABSENT), "type: missing"),
        (_with("MESSAGESENT", ("type",), 7), "type: expected a string, got a number"),
        (_with("MESSAGESENT", ("timestamp",), "yesterday"), "timestamp: expected an integer"),
        (_with("MESSAGESENT", ("payload",), ABSENT), "payload: missing"),
        (_with("MESSAGESENT", ("payload", "messageSent"), ABSENT), "payload.messageSent: missing"),
        (_with("MESSAGESENT", _MSG, "hello"), "payload.messageSent.message: expected an object"),
        (
            _with("MESSAGESENT", (*_MSG, "messageId"), ABSENT),
            "payload.messageSent.message.messageId: missing",
        ),
        (
            _with("MESSAGESENT", (*_MSG, "stream", "streamId"), ABSENT),
            "payload.messageSent.message.stream.streamId: missing",
        ),
        (
            _with("MESSAGESENT", (*_MSG, "user", "userId"), "349026222342678"),
            "payload.messageSent.message.user.userId: expected an integer, got a string",
        ),
        (
            _with("MESSAGESENT", (*_MSG, "user", "userId"), True),
            "payload.messageSent.message.user.userId: expected an integer, got a boolean",
        ),
        (
            _with("USERJOINEDROOM", ("payload", "userJoinedRoom", "affectedUser"), ABSENT),
            "payload.userJoinedRoom.affectedUser: missing",
        ),
        (
            _with(
                "USERREQUESTEDTOJOINROOM",
                ("payload", "userRequestedToJoinRoom", "affectedUsers", 1),
                5,
            ),
            "payload.userRequestedToJoinRoom.affectedUsers[1]: expected an object",
        ),
        (
            _with("INSTANTMESSAGECREATED", ("initiator", "user"), []),
            "initiator.user: expected an object, got an array",
        ),
    ],
)
def test_malformed_events_raise_with_the_event_id_and_the_faulty_field(
    raw: dict[str, Any], problem: str
) -> None:
    with pytest.raises(EventParseError) as caught:
        parse_event(raw)
    assert caught.value.event_id == raw["id"]
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    "raw",
    [None, [], "MESSAGESENT", 42, {}, {"id": "", "type": "X"}, {"id": 5, "type": "X"}],
)
def test_events_without_a_usable_id_raise_without_an_id(raw: Any) -> None:
    with pytest.raises(EventParseError) as caught:
        parse_event(raw)
    assert caught.value.event_id is None


def test_parse_message_reads_a_message_create_answer() -> None:
    msg = parse_message(v4_message("sent <b>ok</b>"))
    assert msg.text == "sent ok"
    assert msg.message_id == "msgAbC-1"
    with pytest.raises(ValueError, match=r"message\.stream: missing"):
        parse_message({**v4_message(), "stream": None})
    with pytest.raises(ValueError, match="must be a JSON object"):
        parse_message([])  # type: ignore[arg-type]


@pytest.mark.parametrize("event_type", sorted(FIXTURES))
def test_events_are_hashable_and_equal_when_parsed_twice(event_type: str) -> None:
    first = parse_event(FIXTURES[event_type])
    second = parse_event(copy.deepcopy(FIXTURES[event_type]))
    assert first == second
    assert hash(first) == hash(second)
