"""Typed datafeed events and their parser.

`parse_event(raw)` turns one V4Event (a JSON object from datafeed v5) into an immutable
`Event` subclass, one per type Symphony documents. The contract:

- an unknown `type` gives a plain `Event` (new types appear over time; never a crash);
- a malformed event — not an object, no `id`/`type`, a field of the wrong JSON type, a known
  type without its payload or without what makes it usable — raises `EventParseError` with
  the event id and the path of the faulty field (`payload.messageSent.message.stream.streamId:
  missing`), which the datafeed logs before skipping the event;
- JSON `null` counts as absent; extra fields are ignored; `raw` keeps the original JSON.

Parsing is on the datafeed's hot path: the usual MESSAGESENT (every field of its exact JSON
type) is read without the checked readers (see `symbot.messages._parse`), and a message's text,
mentions and EntityJSON are worked out only when first read (see `Message`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from attrs import field, frozen

from symbot._fields import (
    FieldError,
    describe,
    opt_int,
    opt_object,
    opt_str,
    req_object,
    req_str,
)
from symbot.errors import EventParseError
from symbot.messages import Message, Replier, Stream, User
from symbot.messages._parse import (
    assemble,
    opt_stream,
    read_message,
    read_user,
    read_users,
    req_stream,
    req_user,
    usual_message,
    usual_user,
)

__all__ = [
    "EVENT_CLASSES",
    "STREAM_TYPES",
    "ConnectionAcceptedEvent",
    "ConnectionRequestedEvent",
    "Event",
    "GenericSystemEvent",
    "InstantMessageCreatedEvent",
    "MessageSentEvent",
    "MessageSuppressedEvent",
    "RoomCreatedEvent",
    "RoomDeactivatedEvent",
    "RoomMemberDemotedFromOwnerEvent",
    "RoomMemberEvent",
    "RoomMemberPromotedToOwnerEvent",
    "RoomReactivatedEvent",
    "RoomUpdatedEvent",
    "SharedPostEvent",
    "Stream",
    "StreamEvent",
    "SymphonyElementsActionEvent",
    "User",
    "UserJoinedRoomEvent",
    "UserLeftRoomEvent",
    "UserRequestedToJoinRoomEvent",
    "parse_event",
]

STREAM_TYPES = frozenset(("IM", "MIM", "ROOM", "POST"))
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _json_field() -> Any:
    """A JSON object field: compared, but not hashed (dicts are not hashable)."""
    return field(default=_EMPTY, hash=False)


@frozen(kw_only=True, slots=False)
class Event:
    """Any datafeed event. Unknown types arrive as this class itself, with `raw` to read."""

    id: str
    type: str
    timestamp: int
    initiator: User | None = None
    raw: Mapping[str, Any] = field(default=_EMPTY, repr=False, eq=False)

    @property
    def stream_id(self) -> str | None:
        """The stream the event happened in, or None for stream-less events."""
        return None


# ---------------------------------------------------------------------------------------------
# One class per event type; `@_parses(type, payload key, fields)` registers how to build it.

_Fields = Callable[[Mapping[str, Any], str, int], dict[str, Any]]
_TABLE: dict[str, tuple[str, type[Event], _Fields]] = {}
_E = TypeVar("_E", bound=Event)


def _parses(event_type: str, key: str, fields: _Fields) -> Callable[[type[_E]], type[_E]]:
    def register(cls: type[_E]) -> type[_E]:
        _TABLE[event_type] = (key, cls, fields)
        return cls

    return register


def _message_fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
    return {"message": read_message(req_object(p, "message", where), f"{where}.message", ts)}


def _shared_post_fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
    raw = opt_object(p, "sharedMessage", where)
    shared = None if raw is None else read_message(raw, f"{where}.sharedMessage", ts)
    return {**_message_fields(p, where, ts), "shared_message": shared}


def _stream_fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
    return {"stream": req_stream(p, where)}


def _room_fields(key: str) -> _Fields:
    def fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
        properties = opt_object(p, key, where) or _EMPTY
        return {"stream": req_stream(p, where), "room_properties": properties}

    return fields


def _member_fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
    return {"stream": req_stream(p, where), "affected_user": req_user(p, "affectedUser", where)}


def _user_fields(key: str, attribute: str) -> _Fields:
    return lambda p, where, ts: {attribute: req_user(p, key, where)}


@frozen(kw_only=True, slots=False)
class _MessageEvent(Event):
    message: Message

    @property
    def stream_id(self) -> str | None:
        return self.message.stream.stream_id


@_parses("MESSAGESENT", "messageSent", _message_fields)
@frozen(kw_only=True, slots=False)
class MessageSentEvent(_MessageEvent):
    pass


@_parses("SHAREDPOST", "sharedPost", _shared_post_fields)
@frozen(kw_only=True, slots=False)
class SharedPostEvent(_MessageEvent):
    shared_message: Message | None = None


@frozen(kw_only=True, slots=False)
class StreamEvent(Event):
    """An event about one stream (a room or an IM)."""

    stream: Stream

    @property
    def stream_id(self) -> str | None:
        return self.stream.stream_id


@frozen(kw_only=True, slots=False)
class _OptionalStreamEvent(Event):
    stream: Stream | None = None

    @property
    def stream_id(self) -> str | None:
        return self.stream.stream_id if self.stream is not None else None


@_parses("INSTANTMESSAGECREATED", "instantMessageCreated", _stream_fields)
@frozen(kw_only=True, slots=False)
class InstantMessageCreatedEvent(StreamEvent):
    pass


@_parses("ROOMCREATED", "roomCreated", _room_fields("roomProperties"))
@frozen(kw_only=True, slots=False)
class RoomCreatedEvent(StreamEvent):
    room_properties: Mapping[str, Any] = _json_field()  # V4RoomProperties


@_parses("ROOMUPDATED", "roomUpdated", _room_fields("newRoomProperties"))
@frozen(kw_only=True, slots=False)
class RoomUpdatedEvent(StreamEvent):
    room_properties: Mapping[str, Any] = _json_field()  # the new V4RoomProperties


@_parses("ROOMDEACTIVATED", "roomDeactivated", _stream_fields)
@frozen(kw_only=True, slots=False)
class RoomDeactivatedEvent(StreamEvent):
    pass


@_parses("ROOMREACTIVATED", "roomReactivated", _stream_fields)
@frozen(kw_only=True, slots=False)
class RoomReactivatedEvent(StreamEvent):
    pass


@frozen(kw_only=True, slots=False)
class RoomMemberEvent(StreamEvent):
    """A change about one member of a room: `affected_user`."""

    affected_user: User


@_parses("USERJOINEDROOM", "userJoinedRoom", _member_fields)
@frozen(kw_only=True, slots=False)
class UserJoinedRoomEvent(RoomMemberEvent):
    pass


@_parses("USERLEFTROOM", "userLeftRoom", _member_fields)
@frozen(kw_only=True, slots=False)
class UserLeftRoomEvent(RoomMemberEvent):
    pass


@_parses("ROOMMEMBERPROMOTEDTOOWNER", "roomMemberPromotedToOwner", _member_fields)
@frozen(kw_only=True, slots=False)
class RoomMemberPromotedToOwnerEvent(RoomMemberEvent):
    pass


@_parses("ROOMMEMBERDEMOTEDFROMOWNER", "roomMemberDemotedFromOwner", _member_fields)
@frozen(kw_only=True, slots=False)
class RoomMemberDemotedFromOwnerEvent(RoomMemberEvent):
    pass


@_parses("CONNECTIONREQUESTED", "connectionRequested", _user_fields("toUser", "to_user"))
@frozen(kw_only=True, slots=False)
class ConnectionRequestedEvent(Event):
    to_user: User


@_parses("CONNECTIONACCEPTED", "connectionAccepted", _user_fields("fromUser", "from_user"))
@frozen(kw_only=True, slots=False)
class ConnectionAcceptedEvent(Event):
    from_user: User


@_parses(
    "MESSAGESUPPRESSED",
    "messageSuppressed",
    lambda p, where, ts: {
        "message_id": req_str(p, "messageId", where),
        "stream": opt_stream(p, where),
    },
)
@frozen(kw_only=True, slots=False)
class MessageSuppressedEvent(_OptionalStreamEvent):
    message_id: str


@_parses(
    "SYMPHONYELEMENTSACTION",
    "symphonyElementsAction",
    lambda p, where, ts: {
        "stream": req_stream(p, where),
        "form_message_id": opt_str(p, "formMessageId", where),
        "form_id": opt_str(p, "formId", where),
        "form_values": opt_object(p, "formValues", where) or _EMPTY,
    },
)
@frozen(kw_only=True, slots=False)
class SymphonyElementsActionEvent(StreamEvent):
    form_message_id: str | None = None
    form_id: str | None = None
    form_values: Mapping[str, Any] = _json_field()


@_parses(
    "USERREQUESTEDTOJOINROOM",
    "userRequestedToJoinRoom",
    lambda p, where, ts: {
        "stream": req_stream(p, where),
        "affected_users": read_users(p, "affectedUsers", where),
    },
)
@frozen(kw_only=True, slots=False)
class UserRequestedToJoinRoomEvent(StreamEvent):
    affected_users: tuple[User, ...] = ()  # the room's owners, who are asked


@_parses(
    "GENERICSYSTEMEVENT",
    "genericSystemEvent",
    lambda p, where, ts: {
        "stream": opt_stream(p, where),
        "event_timestamp": opt_int(p, "eventTimestamp", where),
        "source_system": opt_str(p, "sourceSystem", where),
        "event_subtype": opt_str(p, "eventSubtype", where),
        "parameters": opt_object(p, "parameters", where) or _EMPTY,
    },
)
@frozen(kw_only=True, slots=False)
class GenericSystemEvent(_OptionalStreamEvent):
    event_timestamp: int | None = None
    source_system: str | None = None
    event_subtype: str | None = None
    parameters: Mapping[str, Any] = _json_field()


EVENT_CLASSES: Mapping[str, type[Event]] = MappingProxyType(
    {name: cls for name, (_, cls, _) in _TABLE.items()}
)
"""Event type name (e.g. "USERJOINEDROOM") → the class `parse_event` builds for it."""


def parse_event(raw: Mapping[str, Any], *, replier: Replier | None = None) -> Event:
    """One V4Event → its typed `Event`; raises `EventParseError` if it is malformed.
    `replier`, if given, is bound to a MESSAGESENT event's message (see `Message.reply`)."""
    if type(raw) is dict and raw.get("type") == "MESSAGESENT":
        event_id = raw.get("id")
        if type(event_id) is str and event_id:
            sent = _usual_message_sent(raw, event_id, replier)
            if sent is not None:
                return sent
    if not isinstance(raw, dict | Mapping):
        raise EventParseError(None, f"an event must be a JSON object, got {describe(raw)}")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise EventParseError(None, "the event has no usable 'id' (a non-empty string)")
    try:
        event_type = req_str(raw, "type", "")
        common: dict[str, Any] = {
            "id": event_id,
            "type": event_type,
            "timestamp": opt_int(raw, "timestamp", "") or 0,
            "initiator": _initiator(raw),
            "raw": raw,
        }
        entry = _TABLE.get(event_type)
        if entry is None:
            return Event(**common)
        key, cls, fields = entry
        payload = req_object(req_object(raw, "payload", ""), key, "payload")
        parsed = fields(payload, f"payload.{key}", common["timestamp"])
        if replier is not None and cls is MessageSentEvent:
            parsed["message"] = parsed["message"].with_replier(replier)
        return cls(**common, **parsed)
    except FieldError as exc:
        raise EventParseError(event_id, str(exc)) from None


def _usual_message_sent(
    raw: dict[str, Any], event_id: str, replier: Replier | None
) -> MessageSentEvent | None:
    """A MESSAGESENT whose fields all have their exact JSON types (see `usual_message`),
    else None: the checked readers then build the same event or name the faulty field."""
    timestamp, payload = raw.get("timestamp"), raw.get("payload")
    initiator = raw.get("initiator")
    sent = payload.get("messageSent") if type(payload) is dict else None
    message = sent.get("message") if type(sent) is dict else None
    if type(timestamp) is not int or type(initiator) is not dict or type(message) is not dict:
        return None
    raw_initiator = initiator.get("user")
    initiator_user = usual_user(raw_initiator)
    if initiator_user is None:
        return None
    parsed = usual_message(message, timestamp, replier, (raw_initiator, initiator_user))
    if parsed is None:
        return None
    return assemble(
        MessageSentEvent,
        {
            "id": event_id,
            "type": "MESSAGESENT",
            "timestamp": timestamp,
            "initiator": initiator_user,
            "raw": raw,
            "message": parsed,
        },
    )


def _initiator(raw: Mapping[str, Any]) -> User | None:
    initiator = opt_object(raw, "initiator", "")
    if initiator is None:
        return None
    user = opt_object(initiator, "user", "initiator")
    return None if user is None else read_user(user, "initiator.user")
