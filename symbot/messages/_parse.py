"""Reading `User`, `Stream` and `Message` from their V4 JSON.

One reader per part, each checking every field it uses, field by field, and building the
part through its constructor: `read_user`, `read_stream`, `read_message` (with
`read_attachments`). Each takes the
JSON value found at a place of the document and that place (see `symbot._fields.Where`),
checks that it is an object, and raises `FieldError` naming the faulty field by its path
(`payload.messageSent.message.stream.streamId: missing`). JSON `null` counts as absent,
extra fields are ignored.

`parse_message` is the public face, for a V4Message on its own (the answer to a message
create); the datafeed's `parse_event` uses the readers for the messages inside events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symbot._fields import (
    ROOT,
    FieldError,
    Where,
    as_object,
    describe,
    opt_int,
    opt_objects,
    opt_str,
    path_of,
    req_str,
)
from symbot.messages._model import Attachment, Message, Replier, Stream, Thumbnail, User

__all__ = ["parse_message", "read_attachments", "read_message", "read_stream", "read_user"]

_OPTIONAL_STRING = frozenset((str, type(None)))  # the exact JSON types of an optional string


def read_user(raw: object, where: Where = ROOT) -> User:
    """The V4User `raw`, found at `where`; only `userId` is required."""
    if type(raw) is not dict:
        raw = as_object(raw, where)
    user_id = raw.get("userId")
    if type(user_id) is not int:
        user_id = opt_int(raw, "userId", where)
        if user_id is None:
            raise FieldError(path_of(where, "userId"), "missing")
    username, display_name = raw.get("username"), raw.get("displayName")
    first_name, last_name, email = raw.get("firstName"), raw.get("lastName"), raw.get("email")
    if not (
        type(username) in _OPTIONAL_STRING
        and type(display_name) in _OPTIONAL_STRING
        and type(first_name) in _OPTIONAL_STRING
        and type(last_name) in _OPTIONAL_STRING
        and type(email) in _OPTIONAL_STRING
    ):
        _check_strings(raw, ("username", "displayName", "firstName", "lastName", "email"), where)
    return User(user_id, username, display_name, first_name, last_name, email)


def read_stream(raw: object, where: Where = ROOT) -> Stream:
    """The V4Stream `raw`, found at `where`; `streamId` is required, `members` (an IM's, at
    its creation) optional."""
    if type(raw) is not dict:
        raw = as_object(raw, where)
    stream_id = raw.get("streamId")
    if not stream_id or type(stream_id) is not str:
        stream_id = req_str(raw, "streamId", where)
    stream_type, room_name = raw.get("streamType"), raw.get("roomName")
    if not (type(stream_type) in _OPTIONAL_STRING and type(room_name) in _OPTIONAL_STRING):
        _check_strings(raw, ("streamType", "roomName"), where)
    members: tuple[User, ...] = ()
    if "members" in raw:
        members = tuple(read_user(item, path) for item, path in opt_objects(raw, "members", where))
    return Stream(stream_id, stream_type, room_name, members)


def read_attachments(raw: Mapping[str, Any], where: Where = ROOT) -> tuple[Attachment, ...]:
    """A V4Message's `attachments` (V4AttachmentInfo: id, name, size, images)."""
    attachments = []
    for item, path in opt_objects(raw, "attachments", where):
        size = opt_int(item, "size", path)
        thumbnails = tuple(
            Thumbnail(req_str(image, "id", image_path), opt_str(image, "dimension", image_path))
            for image, image_path in opt_objects(item, "images", path)
        )
        attachments.append(
            Attachment(
                req_str(item, "id", path),
                opt_str(item, "name", path) or "",
                0 if size is None else size,
                thumbnails,
            )
        )
    return tuple(attachments)


def read_message(
    raw: object,
    where: Where = ROOT,
    default_timestamp: int = 0,
    replier: Replier | None = None,
    known_user: tuple[object, User] | None = None,
) -> Message:
    """The V4Message `raw`, found at `where`; `messageId`, `stream` and `user` are required.
    `default_timestamp` is used when it has none (an event's own); `replier` makes `reply()`
    work (see `Message`). `known_user` is a V4User read before and its `User` (an event's
    initiator, usually the sender): the sender is that `User` when its JSON is equal,
    instead of being read again. The text, mentions and EntityJSON are left to `Message` to
    work out when read."""
    if type(raw) is not dict:
        raw = as_object(raw, where)
    message_id = raw.get("messageId")
    if not message_id or type(message_id) is not str:
        message_id = req_str(raw, "messageId", where)
    presentation_ml, timestamp = raw.get("message"), raw.get("timestamp")
    if type(presentation_ml) not in _OPTIONAL_STRING:
        _check_strings(raw, ("message",), where)
    if type(timestamp) is not int:
        timestamp = opt_int(raw, "timestamp", where)
    stream = read_stream(raw.get("stream"), (where, "stream"))
    attachments = raw.get("attachments")  # usually none: [] (read_attachments checks others)
    user: Any = raw.get("user")
    if known_user is not None and user == known_user[0] and type(user["userId"]) is int:
        sender = known_user[1]  # (the type check: True == 1, but a boolean is no user id)
    else:
        sender = read_user(user, (where, "user"))
    return Message(
        message_id=message_id,
        stream=stream,
        sender=sender,
        timestamp=default_timestamp if timestamp is None else timestamp,
        presentation_ml=presentation_ml or "",
        attachments=()
        if attachments is None or attachments == []
        else read_attachments(raw, where),
        data=raw.get("data"),
        replier=replier,
    )


def _check_strings(raw: Mapping[str, Any], keys: tuple[str, ...], where: Where) -> None:
    """Raise `FieldError` for the first of `keys` that is neither a string nor absent.
    (Called when a quick check failed: only a `str` subclass passes here.)"""
    for key in keys:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise FieldError(path_of(where, key), f"expected a string, got {describe(value)}")


_MESSAGE: Where = (ROOT, "message")


def parse_message(raw: Mapping[str, Any], *, replier: Replier | None = None) -> Message:
    """A V4Message (e.g. the answer to message create) → `Message`, whose `reply()` sends
    through `replier` if one is given; ValueError if it is unusable."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise ValueError(f"a message must be a JSON object, got {describe(raw)}")
    try:
        return read_message(raw, _MESSAGE, 0, replier)
    except FieldError as exc:
        raise ValueError(f"malformed {exc}") from None
