"""Typed datafeed events and their parser.

`parse_event(raw)` turns one V4Event (a JSON object from datafeed v5) into an immutable
`Event` subclass, one per type Symphony documents. The contract:

- an unknown `type` gives a plain `Event` (new types appear over time; never a crash);
- a malformed event — not an object, no `id`/`type`, a field of the wrong JSON type, a known
  type without its payload or without what makes it usable — raises `EventParseError` with
  the event id and the path of the faulty field (`payload.messageSent.message.stream.streamId:
  missing`), which the datafeed logs before skipping the event;
- JSON `null` counts as absent; extra fields are ignored; `raw` keeps the original JSON.

Parsing is a dict lookup plus direct field reads: it is on the datafeed's hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from attrs import field, frozen

from symbot.errors import EventParseError
from symbot.messages import Message, mention_texts, parse_entity_json, render_presentation

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
    "parse_message",
]

STREAM_TYPES = frozenset(("IM", "MIM", "ROOM", "POST"))
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _json_field() -> Any:
    """A JSON object field: compared, but not hashed (dicts are not hashable)."""
    return field(default=_EMPTY, hash=False)


@frozen
class User:
    """A Symphony user (V4User). Only `user_id` is always known."""

    user_id: int
    username: str | None = None
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@frozen
class Stream:
    """A conversation (V4Stream). `stream_type` is IM, MIM, ROOM, POST, or None if unsent."""

    stream_id: str
    stream_type: str | None = None
    room_name: str | None = None
    members: tuple[User, ...] = ()

    @property
    def is_room(self) -> bool:
        """ROOM and MIM (multi-party IM) are rooms; IM and POST are not."""
        return self.stream_type in ("ROOM", "MIM")


@frozen(kw_only=True)
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
# Field readers. They raise `_Malformed(path, problem)`; `parse_event` adds the event id.


class _Malformed(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path.lstrip('.')}: {problem}")  # top-level fields: where=""


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "a number", float: "a number", list: "an array"}.get(
        type(value), "an object" if isinstance(value, Mapping) else type(value).__name__
    )


def _wrong(path: str, expected: str, value: object) -> _Malformed:
    return _Malformed(path, f"expected {expected}, got {_kind(value)}")


def _obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None or isinstance(value, dict | Mapping):
        return value
    raise _wrong(f"{where}.{key}", "an object", value)


def _req_obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = _obj(parent, key, where)
    if value is None:
        raise _Malformed(f"{where}.{key}", "missing")
    return value


def _str(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong(f"{where}.{key}", "a string", value)


def _req_str(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(parent, key, where)
    if not value:
        raise _Malformed(f"{where}.{key}", "missing")
    return value


def _int(parent: Mapping[str, Any], key: str, where: str) -> int | None:
    value = parent.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _wrong(f"{where}.{key}", "an integer", value)


def _user(raw: Mapping[str, Any], where: str) -> User:
    user_id = _int(raw, "userId", where)
    if user_id is None:
        raise _Malformed(f"{where}.userId", "missing")
    return User(
        user_id,
        _str(raw, "username", where),
        _str(raw, "displayName", where),
        _str(raw, "firstName", where),
        _str(raw, "lastName", where),
        _str(raw, "email", where),
    )


def _req_user(parent: Mapping[str, Any], key: str, where: str) -> User:
    return _user(_req_obj(parent, key, where), f"{where}.{key}")


def _users(parent: Mapping[str, Any], key: str, where: str) -> tuple[User, ...]:
    value = parent.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _wrong(f"{where}.{key}", "an array", value)
    users = []
    for index, item in enumerate(value):
        path = f"{where}.{key}[{index}]"
        if not isinstance(item, Mapping):
            raise _wrong(path, "an object", item)
        users.append(_user(item, path))
    return tuple(users)


def _stream(raw: Mapping[str, Any], where: str) -> Stream:
    return Stream(
        _req_str(raw, "streamId", where),
        _str(raw, "streamType", where),
        _str(raw, "roomName", where),
        _users(raw, "members", where) if "members" in raw else (),
    )


def _req_stream(parent: Mapping[str, Any], where: str) -> Stream:
    return _stream(_req_obj(parent, "stream", where), f"{where}.stream")


def _opt_stream(parent: Mapping[str, Any], where: str) -> Stream | None:
    raw = _obj(parent, "stream", where)
    return None if raw is None else _stream(raw, f"{where}.stream")


def _message(raw: Mapping[str, Any], where: str, default_timestamp: int) -> Message:
    presentation_ml = _str(raw, "message", where) or ""
    data = parse_entity_json(raw.get("data"))
    text, entity_texts = render_presentation(presentation_ml)
    timestamp = _int(raw, "timestamp", where)
    return Message(
        message_id=_req_str(raw, "messageId", where),
        stream=_req_stream(raw, where),
        sender=_req_user(raw, "user", where),
        timestamp=default_timestamp if timestamp is None else timestamp,
        presentation_ml=presentation_ml,
        data=data,
        text=text,
        mention_texts=mention_texts(data, entity_texts) if entity_texts else {},
    )


def parse_message(raw: Mapping[str, Any]) -> Message:
    """A V4Message (e.g. the answer to message create) → `Message`; ValueError if unusable."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"a message must be a JSON object, got {_kind(raw)}")
    try:
        return _message(raw, "message", 0)
    except _Malformed as exc:
        raise ValueError(f"malformed {exc}") from None


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
    return {"message": _message(_req_obj(p, "message", where), f"{where}.message", ts)}


def _shared_post_fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
    raw = _obj(p, "sharedMessage", where)
    shared = None if raw is None else _message(raw, f"{where}.sharedMessage", ts)
    return {**_message_fields(p, where, ts), "shared_message": shared}


def _stream_fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
    return {"stream": _req_stream(p, where)}


def _room_fields(key: str) -> _Fields:
    def fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
        return {"stream": _req_stream(p, where), "room_properties": _obj(p, key, where) or _EMPTY}

    return fields


def _member_fields(p: Mapping[str, Any], where: str, ts: int) -> dict[str, Any]:
    return {"stream": _req_stream(p, where), "affected_user": _req_user(p, "affectedUser", where)}


def _user_fields(key: str, attribute: str) -> _Fields:
    return lambda p, where, ts: {attribute: _req_user(p, key, where)}


@frozen(kw_only=True)
class _MessageEvent(Event):
    message: Message

    @property
    def stream_id(self) -> str | None:
        return self.message.stream.stream_id


@_parses("MESSAGESENT", "messageSent", _message_fields)
@frozen(kw_only=True)
class MessageSentEvent(_MessageEvent):
    pass


@_parses("SHAREDPOST", "sharedPost", _shared_post_fields)
@frozen(kw_only=True)
class SharedPostEvent(_MessageEvent):
    shared_message: Message | None = None


@frozen(kw_only=True)
class StreamEvent(Event):
    """An event about one stream (a room or an IM)."""

    stream: Stream

    @property
    def stream_id(self) -> str | None:
        return self.stream.stream_id


@frozen(kw_only=True)
class _OptionalStreamEvent(Event):
    stream: Stream | None = None

    @property
    def stream_id(self) -> str | None:
        return self.stream.stream_id if self.stream is not None else None


@_parses("INSTANTMESSAGECREATED", "instantMessageCreated", _stream_fields)
@frozen(kw_only=True)
class InstantMessageCreatedEvent(StreamEvent):
    pass


@_parses("ROOMCREATED", "roomCreated", _room_fields("roomProperties"))
@frozen(kw_only=True)
class RoomCreatedEvent(StreamEvent):
    room_properties: Mapping[str, Any] = _json_field()  # V4RoomProperties


@_parses("ROOMUPDATED", "roomUpdated", _room_fields("newRoomProperties"))
@frozen(kw_only=True)
class RoomUpdatedEvent(StreamEvent):
    room_properties: Mapping[str, Any] = _json_field()  # the new V4RoomProperties


@_parses("ROOMDEACTIVATED", "roomDeactivated", _stream_fields)
@frozen(kw_only=True)
class RoomDeactivatedEvent(StreamEvent):
    pass


@_parses("ROOMREACTIVATED", "roomReactivated", _stream_fields)
@frozen(kw_only=True)
class RoomReactivatedEvent(StreamEvent):
    pass


@frozen(kw_only=True)
class RoomMemberEvent(StreamEvent):
    """A change about one member of a room: `affected_user`."""

    affected_user: User


@_parses("USERJOINEDROOM", "userJoinedRoom", _member_fields)
@frozen(kw_only=True)
class UserJoinedRoomEvent(RoomMemberEvent):
    pass


@_parses("USERLEFTROOM", "userLeftRoom", _member_fields)
@frozen(kw_only=True)
class UserLeftRoomEvent(RoomMemberEvent):
    pass


@_parses("ROOMMEMBERPROMOTEDTOOWNER", "roomMemberPromotedToOwner", _member_fields)
@frozen(kw_only=True)
class RoomMemberPromotedToOwnerEvent(RoomMemberEvent):
    pass


@_parses("ROOMMEMBERDEMOTEDFROMOWNER", "roomMemberDemotedFromOwner", _member_fields)
@frozen(kw_only=True)
class RoomMemberDemotedFromOwnerEvent(RoomMemberEvent):
    pass


@_parses("CONNECTIONREQUESTED", "connectionRequested", _user_fields("toUser", "to_user"))
@frozen(kw_only=True)
class ConnectionRequestedEvent(Event):
    to_user: User


@_parses("CONNECTIONACCEPTED", "connectionAccepted", _user_fields("fromUser", "from_user"))
@frozen(kw_only=True)
class ConnectionAcceptedEvent(Event):
    from_user: User


@_parses(
    "MESSAGESUPPRESSED",
    "messageSuppressed",
    lambda p, where, ts: {
        "message_id": _req_str(p, "messageId", where),
        "stream": _opt_stream(p, where),
    },
)
@frozen(kw_only=True)
class MessageSuppressedEvent(_OptionalStreamEvent):
    message_id: str


@_parses(
    "SYMPHONYELEMENTSACTION",
    "symphonyElementsAction",
    lambda p, where, ts: {
        "stream": _req_stream(p, where),
        "form_message_id": _str(p, "formMessageId", where),
        "form_id": _str(p, "formId", where),
        "form_values": _obj(p, "formValues", where) or _EMPTY,
    },
)
@frozen(kw_only=True)
class SymphonyElementsActionEvent(StreamEvent):
    form_message_id: str | None = None
    form_id: str | None = None
    form_values: Mapping[str, Any] = _json_field()


@_parses(
    "USERREQUESTEDTOJOINROOM",
    "userRequestedToJoinRoom",
    lambda p, where, ts: {
        "stream": _req_stream(p, where),
        "affected_users": _users(p, "affectedUsers", where),
    },
)
@frozen(kw_only=True)
class UserRequestedToJoinRoomEvent(StreamEvent):
    affected_users: tuple[User, ...] = ()  # the room's owners, who are asked


@_parses(
    "GENERICSYSTEMEVENT",
    "genericSystemEvent",
    lambda p, where, ts: {
        "stream": _opt_stream(p, where),
        "event_timestamp": _int(p, "eventTimestamp", where),
        "source_system": _str(p, "sourceSystem", where),
        "event_subtype": _str(p, "eventSubtype", where),
        "parameters": _obj(p, "parameters", where) or _EMPTY,
    },
)
@frozen(kw_only=True)
class GenericSystemEvent(_OptionalStreamEvent):
    event_timestamp: int | None = None
    source_system: str | None = None
    event_subtype: str | None = None
    parameters: Mapping[str, Any] = _json_field()


EVENT_CLASSES: Mapping[str, type[Event]] = MappingProxyType(
    {name: cls for name, (_, cls, _) in _TABLE.items()}
)
"""Event type name (e.g. "USERJOINEDROOM") → the class `parse_event` builds for it."""


def parse_event(raw: Mapping[str, Any]) -> Event:
    """One V4Event → its typed `Event`; raises `EventParseError` if it is malformed."""
    if not isinstance(raw, dict | Mapping):
        raise EventParseError(None, f"an event must be a JSON object, got {_kind(raw)}")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise EventParseError(None, "the event has no usable 'id' (a non-empty string)")
    try:
        event_type = _req_str(raw, "type", "")
        common: dict[str, Any] = {
            "id": event_id,
            "type": event_type,
            "timestamp": _int(raw, "timestamp", "") or 0,
            "initiator": _initiator(raw),
            "raw": raw,
        }
        entry = _TABLE.get(event_type)
        if entry is None:
            return Event(**common)
        key, cls, fields = entry
        payload = _req_obj(_req_obj(raw, "payload", ""), key, "payload")
        return cls(**common, **fields(payload, f"payload.{key}", common["timestamp"]))
    except _Malformed as exc:
        raise EventParseError(event_id, str(exc)) from None


def _initiator(raw: Mapping[str, Any]) -> User | None:
    initiator = _obj(raw, "initiator", "")
    if initiator is None:
        return None
    user = _obj(initiator, "user", "initiator")
    return None if user is None else _user(user, "initiator.user")
