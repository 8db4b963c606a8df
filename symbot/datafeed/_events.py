"""Typed datafeed events and their parser.

`parse_event(raw)` turns one V4Event (a JSON object from datafeed v5) into an immutable
`Event` subclass, one per type Symphony documents. The contract:

- an unknown `type` gives a plain `Event` (new types appear over time; never a crash);
- a malformed event — not an object, no `id`/`type`, a field of the wrong JSON type, a known
  type without its payload or without what makes it usable — raises `EventParseError` with
  the event id and the path of the faulty field (`payload.messageSent.message.stream.streamId:
  missing`), which the datafeed logs before skipping the event;
- JSON `null` counts as absent; an integral float is an integer, a boolean is not; extra
  fields are ignored; `raw` keeps the original JSON.

There is one parser: every field it uses is checked, field by field, and every event,
message, user and stream is built through its own constructor (the readers of
`symbot.messages`), each handed the place of its object in the event. It is on the datafeed's
hot path, so the checks test exact JSON types inline, and a place is spelled out as a path
only when an error is reported (see `symbot._fields`); a message's text, mentions and
EntityJSON are worked out only when first read (`Message`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from attrs import field, frozen

from symbot._fields import (
    ROOT,
    FieldError,
    Where,
    as_object,
    describe,
    opt_int,
    opt_object,
    opt_objects,
    opt_str,
    path_of,
    req_str,
)
from symbot.errors import EventParseError
from symbot.messages import (
    Message,
    Replier,
    Stream,
    User,
    read_message,
    read_stream,
    read_user,
)
from symbot.transport import MAX_ANSWER_DEPTH, JsonError, check_depth

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

_Json = Mapping[str, Any]
_Kwargs = dict[str, Any]
_Fields = Callable[[_Json, Where, _Kwargs, Replier | None], object]
"""Reads the type's payload object (found at the place given) into `event`: the keyword
arguments of the class, which already hold `id`, `type`, `timestamp`, `initiator` and
`raw`. The replier is the bot's."""
_TABLE: dict[str, tuple[str, Where, type[Event], _Fields]] = {}
_E = TypeVar("_E", bound=Event)
_PAYLOAD: Where = (ROOT, "payload")
_INITIATOR: Where = (ROOT, "initiator")
_INITIATOR_USER: Where = (_INITIATOR, "user")


def _parses(event_type: str, key: str, fields: _Fields) -> Callable[[type[_E]], type[_E]]:
    def register(cls: type[_E]) -> type[_E]:
        _TABLE[event_type] = (key, (_PAYLOAD, key), cls, fields)
        return cls

    return register


def _message_sent_fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
    initiator = event["initiator"]  # usually the sender too: its User, if its JSON is equal
    known = None if initiator is None else (event["raw"]["initiator"]["user"], initiator)
    message = (where, "message")
    event["message"] = read_message(p.get("message"), message, event["timestamp"], replier, known)


def _shared_post_fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
    # The replier answers the messages sent to the bot; these are shared posts.
    timestamp = event["timestamp"]
    event["message"] = read_message(p.get("message"), (where, "message"), timestamp)
    shared = p.get("sharedMessage")
    if shared is not None:
        event["shared_message"] = read_message(shared, (where, "sharedMessage"), timestamp)


def _free_object(p: _Json, key: str, where: Where) -> Mapping[str, Any]:
    """A free-form JSON object the event hands out as it is (room properties, form values,
    parameters): bounded in depth here, since the batch's depth was not walked (see
    `symbot.transport.parse_json`). `{}` when absent."""
    value = opt_object(p, key, where)
    if not value:
        return _EMPTY
    try:
        check_depth(value, MAX_ANSWER_DEPTH - 4)  # it sits four levels into the batch
    except JsonError as deep:
        raise FieldError(path_of(where, key), deep.detail) from None
    return value


def _stream_fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
    event["stream"] = read_stream(p.get("stream"), (where, "stream"))


def _optional_stream(p: _Json, where: Where) -> Stream | None:
    stream = p.get("stream")
    return None if stream is None else read_stream(stream, (where, "stream"))


def _room_fields(key: str) -> _Fields:
    def fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
        event["stream"] = read_stream(p.get("stream"), (where, "stream"))
        event["room_properties"] = _free_object(p, key, where)

    return fields


def _member_fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
    event["stream"] = read_stream(p.get("stream"), (where, "stream"))
    event["affected_user"] = read_user(p.get("affectedUser"), (where, "affectedUser"))


def _user_fields(key: str, attribute: str) -> _Fields:
    def fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
        event[attribute] = read_user(p.get(key), (where, key))

    return fields


def _suppressed_fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
    event["message_id"] = req_str(p, "messageId", where)
    event["stream"] = _optional_stream(p, where)


def _elements_action_fields(
    p: _Json, where: Where, event: _Kwargs, replier: Replier | None
) -> None:
    event["stream"] = read_stream(p.get("stream"), (where, "stream"))
    event["form_message_id"] = opt_str(p, "formMessageId", where)
    event["form_id"] = opt_str(p, "formId", where)
    event["form_values"] = _free_object(p, "formValues", where)


def _join_request_fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
    event["stream"] = read_stream(p.get("stream"), (where, "stream"))
    users = opt_objects(p, "affectedUsers", where)
    event["affected_users"] = tuple(read_user(item, path) for item, path in users)


def _generic_fields(p: _Json, where: Where, event: _Kwargs, replier: Replier | None) -> None:
    event["stream"] = _optional_stream(p, where)
    event["event_timestamp"] = opt_int(p, "eventTimestamp", where)
    event["source_system"] = opt_str(p, "sourceSystem", where)
    event["event_subtype"] = opt_str(p, "eventSubtype", where)
    event["parameters"] = _free_object(p, "parameters", where)


@frozen(kw_only=True, slots=False)
class _MessageEvent(Event):
    message: Message

    @property
    def stream_id(self) -> str | None:
        return self.message.stream.stream_id


@_parses("MESSAGESENT", "messageSent", _message_sent_fields)
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


@_parses("MESSAGESUPPRESSED", "messageSuppressed", _suppressed_fields)
@frozen(kw_only=True, slots=False)
class MessageSuppressedEvent(_OptionalStreamEvent):
    message_id: str


@_parses("SYMPHONYELEMENTSACTION", "symphonyElementsAction", _elements_action_fields)
@frozen(kw_only=True, slots=False)
class SymphonyElementsActionEvent(StreamEvent):
    form_message_id: str | None = None
    form_id: str | None = None
    form_values: Mapping[str, Any] = _json_field()


@_parses("USERREQUESTEDTOJOINROOM", "userRequestedToJoinRoom", _join_request_fields)
@frozen(kw_only=True, slots=False)
class UserRequestedToJoinRoomEvent(StreamEvent):
    affected_users: tuple[User, ...] = ()  # the room's owners, who are asked


@_parses("GENERICSYSTEMEVENT", "genericSystemEvent", _generic_fields)
@frozen(kw_only=True, slots=False)
class GenericSystemEvent(_OptionalStreamEvent):
    event_timestamp: int | None = None
    source_system: str | None = None
    event_subtype: str | None = None
    parameters: Mapping[str, Any] = _json_field()


EVENT_CLASSES: Mapping[str, type[Event]] = MappingProxyType(
    {name: cls for name, (_, _, cls, _) in _TABLE.items()}
)
"""Event type name (e.g. "USERJOINEDROOM") → the class `parse_event` builds for it."""


def parse_event(raw: Mapping[str, Any], *, replier: Replier | None = None) -> Event:
    """One V4Event → its typed `Event`; raises `EventParseError` if it is malformed (see the
    module docstring). `replier`, if given, is bound to a MESSAGESENT event's message, so
    that its `reply()` works (the bot's dispatcher parses with the bot's replier)."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise EventParseError(None, f"an event must be a JSON object, got {describe(raw)}")
    event_id = raw.get("id")
    if not event_id or not isinstance(event_id, str):
        raise EventParseError(None, "the event has no usable 'id' (a non-empty string)")
    try:
        event_type = raw.get("type")
        if not event_type or type(event_type) is not str:
            event_type = req_str(raw, "type")
        timestamp = raw.get("timestamp")
        if type(timestamp) is not int:
            timestamp = opt_int(raw, "timestamp") or 0
        initiator = raw.get("initiator")
        if initiator is not None:
            initiator = _read_initiator(initiator)
        event: dict[str, Any] = {
            "id": event_id,
            "type": event_type,
            "timestamp": timestamp,
            "initiator": initiator,
            "raw": raw,
        }
        entry = _TABLE.get(event_type)
        if entry is None:
            return Event(**event)
        key, where, cls, fields = entry
        payload = raw.get("payload")
        if type(payload) is not dict:
            payload = as_object(payload, _PAYLOAD)
        own = payload.get(key)
        if type(own) is not dict:
            own = as_object(own, where)
        fields(own, where, event, replier)
        return cls(**event)
    except FieldError as exc:
        raise EventParseError(event_id, str(exc)) from None


def _read_initiator(initiator: object) -> User | None:
    """The user of the V4Initiator `initiator`, if it names one."""
    if type(initiator) is not dict:
        initiator = as_object(initiator, _INITIATOR)
    user = initiator.get("user")
    return None if user is None else read_user(user, _INITIATOR_USER)
