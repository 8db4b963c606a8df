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
from typing import Any

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
    "parse_stream",
    "parse_user",
]

STREAM_TYPES = frozenset(("IM", "MIM", "ROOM", "POST"))
_EMPTY: Mapping[str, Any] = MappingProxyType({})


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


@frozen(kw_only=True)
class MessageSentEvent(Event):
    message: Message

    @property
    def stream_id(self) -> str | None:
        return self.message.stream.stream_id


@frozen(kw_only=True)
class SharedPostEvent(Event):
    message: Message
    shared_message: Message | None = None

    @property
    def stream_id(self) -> str | None:
        return self.message.stream.stream_id


@frozen(kw_only=True)
class StreamEvent(Event):
    """An event about one stream (a room or an IM)."""

    stream: Stream

    @property
    def stream_id(self) -> str | None:
        return self.stream.stream_id


@frozen(kw_only=True)
class InstantMessageCreatedEvent(StreamEvent):
    pass


@frozen(kw_only=True)
class RoomCreatedEvent(StreamEvent):
    room_properties: Mapping[str, Any] = _EMPTY  # V4RoomProperties, as JSON


@frozen(kw_only=True)
class RoomUpdatedEvent(StreamEvent):
    room_properties: Mapping[str, Any] = _EMPTY  # the new V4RoomProperties, as JSON


@frozen(kw_only=True)
class RoomDeactivatedEvent(StreamEvent):
    pass


@frozen(kw_only=True)
class RoomReactivatedEvent(StreamEvent):
    pass


@frozen(kw_only=True)
class RoomMemberEvent(StreamEvent):
    """A change about one member of a room: `affected_user`."""

    affected_user: User


@frozen(kw_only=True)
class UserJoinedRoomEvent(RoomMemberEvent):
    pass


@frozen(kw_only=True)
class UserLeftRoomEvent(RoomMemberEvent):
    pass


@frozen(kw_only=True)
class RoomMemberPromotedToOwnerEvent(RoomMemberEvent):
    pass


@frozen(kw_only=True)
class RoomMemberDemotedFromOwnerEvent(RoomMemberEvent):
    pass


@frozen(kw_only=True)
class ConnectionRequestedEvent(Event):
    to_user: User


@frozen(kw_only=True)
class ConnectionAcceptedEvent(Event):
    from_user: User


@frozen(kw_only=True)
class MessageSuppressedEvent(Event):
    message_id: str
    stream: Stream | None = None

    @property
    def stream_id(self) -> str | None:
        return self.stream.stream_id if self.stream is not None else None


@frozen(kw_only=True)
class SymphonyElementsActionEvent(StreamEvent):
    form_message_id: str | None = None
    form_id: str | None = None
    form_values: Mapping[str, Any] = _EMPTY


@frozen(kw_only=True)
class UserRequestedToJoinRoomEvent(StreamEvent):
    affected_users: tuple[User, ...] = ()  # the room's owners, who are asked


@frozen(kw_only=True)
class GenericSystemEvent(Event):
    stream: Stream | None = None
    event_timestamp: int | None = None
    source_system: str | None = None
    event_subtype: str | None = None
    parameters: Mapping[str, Any] = _EMPTY

    @property
    def stream_id(self) -> str | None:
        return self.stream.stream_id if self.stream is not None else None


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
    value = parent.get(key)
    if isinstance(value, str) and value:
        return value
    raise (
        _Malformed(f"{where}.{key}", "missing")
        if not value
        else _wrong(f"{where}.{key}", "a string", value)
    )


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


def _wrap(read: Callable[[Mapping[str, Any], str], Any], raw: object, what: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{what} must be a JSON object, got {_kind(raw)}")
    try:
        return read(raw, what)
    except _Malformed as exc:
        raise ValueError(f"malformed {exc}") from None


def parse_message(raw: Mapping[str, Any]) -> Message:
    """A V4Message (e.g. the answer to message create) → `Message`; ValueError if unusable."""
    result: Message = _wrap(lambda r, w: _message(r, w, 0), raw, "message")
    return result


def parse_user(raw: Mapping[str, Any]) -> User:
    """A V4User → `User`; ValueError without a usable `userId`."""
    result: User = _wrap(_user, raw, "user")
    return result


def parse_stream(raw: Mapping[str, Any]) -> Stream:
    """A V4Stream → `Stream`; ValueError without a `streamId`."""
    result: Stream = _wrap(_stream, raw, "stream")
    return result


# ---------------------------------------------------------------------------------------------
# One builder per event type: (class, common fields, payload object, path) -> Event

_Make = Callable[..., Event]
_Builder = Callable[[_Make, dict[str, Any], Mapping[str, Any], str], Event]


def _message_sent(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
    msg = _message(_req_obj(p, "message", where), f"{where}.message", common["timestamp"])
    return cls(**common, message=msg)


def _shared_post(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
    ts = common["timestamp"]
    msg = _message(_req_obj(p, "message", where), f"{where}.message", ts)
    shared_raw = _obj(p, "sharedMessage", where)
    shared = None if shared_raw is None else _message(shared_raw, f"{where}.sharedMessage", ts)
    return cls(**common, message=msg, shared_message=shared)


def _stream_only(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
    return cls(**common, stream=_req_stream(p, where))


def _room_properties(key: str) -> _Builder:
    def build(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
        props = _obj(p, key, where) or _EMPTY
        return cls(**common, stream=_req_stream(p, where), room_properties=props)

    return build


def _room_member(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
    user = _req_user(p, "affectedUser", where)
    return cls(**common, stream=_req_stream(p, where), affected_user=user)


def _user_field(key: str, attribute: str) -> _Builder:
    def build(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
        return cls(**common, **{attribute: _req_user(p, key, where)})

    return build


def _message_suppressed(
    cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str
) -> Event:
    return cls(**common, message_id=_req_str(p, "messageId", where), stream=_opt_stream(p, where))


def _elements_action(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
    return cls(
        **common,
        stream=_req_stream(p, where),
        form_message_id=_str(p, "formMessageId", where),
        form_id=_str(p, "formId", where),
        form_values=_obj(p, "formValues", where) or _EMPTY,
    )


def _requested_to_join(
    cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str
) -> Event:
    users = _users(p, "affectedUsers", where)
    return cls(**common, stream=_req_stream(p, where), affected_users=users)


def _generic_system(cls: _Make, common: dict[str, Any], p: Mapping[str, Any], where: str) -> Event:
    return cls(
        **common,
        stream=_opt_stream(p, where),
        event_timestamp=_int(p, "eventTimestamp", where),
        source_system=_str(p, "sourceSystem", where),
        event_subtype=_str(p, "eventSubtype", where),
        parameters=_obj(p, "parameters", where) or _EMPTY,
    )


_TABLE: dict[str, tuple[str, type[Event], _Builder]] = {
    "MESSAGESENT": ("messageSent", MessageSentEvent, _message_sent),
    "SHAREDPOST": ("sharedPost", SharedPostEvent, _shared_post),
    "INSTANTMESSAGECREATED": ("instantMessageCreated", InstantMessageCreatedEvent, _stream_only),
    "ROOMCREATED": ("roomCreated", RoomCreatedEvent, _room_properties("roomProperties")),
    "ROOMUPDATED": ("roomUpdated", RoomUpdatedEvent, _room_properties("newRoomProperties")),
    "ROOMDEACTIVATED": ("roomDeactivated", RoomDeactivatedEvent, _stream_only),
    "ROOMREACTIVATED": ("roomReactivated", RoomReactivatedEvent, _stream_only),
    "USERJOINEDROOM": ("userJoinedRoom", UserJoinedRoomEvent, _room_member),
    "USERLEFTROOM": ("userLeftRoom", UserLeftRoomEvent, _room_member),
    "ROOMMEMBERPROMOTEDTOOWNER": (
        "roomMemberPromotedToOwner",
        RoomMemberPromotedToOwnerEvent,
        _room_member,
    ),
    "ROOMMEMBERDEMOTEDFROMOWNER": (
        "roomMemberDemotedFromOwner",
        RoomMemberDemotedFromOwnerEvent,
        _room_member,
    ),
    "CONNECTIONREQUESTED": (
        "connectionRequested",
        ConnectionRequestedEvent,
        _user_field("toUser", "to_user"),
    ),
    "CONNECTIONACCEPTED": (
        "connectionAccepted",
        ConnectionAcceptedEvent,
        _user_field("fromUser", "from_user"),
    ),
    "MESSAGESUPPRESSED": ("messageSuppressed", MessageSuppressedEvent, _message_suppressed),
    "SYMPHONYELEMENTSACTION": (
        "symphonyElementsAction",
        SymphonyElementsActionEvent,
        _elements_action,
    ),
    "USERREQUESTEDTOJOINROOM": (
        "userRequestedToJoinRoom",
        UserRequestedToJoinRoomEvent,
        _requested_to_join,
    ),
    "GENERICSYSTEMEVENT": ("genericSystemEvent", GenericSystemEvent, _generic_system),
}

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
        key, cls, build = entry
        payload = _req_obj(raw, "payload", "")
        return build(cls, common, _req_obj(payload, key, "payload"), f"payload.{key}")
    except _Malformed as exc:
        raise EventParseError(event_id, str(exc)) from None


def _initiator(raw: Mapping[str, Any]) -> User | None:
    initiator = _obj(raw, "initiator", "")
    if initiator is None:
        return None
    user = _obj(initiator, "user", "initiator")
    return None if user is None else _user(user, "initiator.user")
