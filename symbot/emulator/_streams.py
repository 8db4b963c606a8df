"""Rooms, IMs and messages of the emulated pod, and the events they put into datafeeds.

Every message, whether sent through the API (`/agent/v4/stream/{sid}/message/create`) or by
a test through the emulator's controls, goes through one path: MessageML is validated and
converted to PresentationML (`<mention>` becomes an entity span plus an EntityJSON entry),
stored as a `SentMessage`, and published as a MESSAGESENT event to the feeds of every member
of the stream, the sender included, as a real pod does.

MessageML is parsed with `xml.etree.ElementTree` after refusing any DOCTYPE or ENTITY
declaration, so no entity expansion (XML bomb) can happen.
"""

from __future__ import annotations

import email.parser
import email.policy
import html
import json
import logging
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define, field, frozen

from symbot.emulator._directory import UserDirectory, UserRecord, to_v4_user
from symbot.emulator._feeds import AgentApiError, FeedStore

__all__ = [
    "ROOM_EVENT_TYPES",
    "SentMessage",
    "StreamRecord",
    "StreamStore",
    "parse_multipart",
    "to_presentation_ml",
]

logger = logging.getLogger("symbot.emulator")

MENTION_TYPE = "com.symphony.user.mention"
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

ROOM_EVENT_TYPES: Mapping[str, str] = {
    "INSTANTMESSAGECREATED": "instantMessageCreated",
    "ROOMCREATED": "roomCreated",
    "ROOMUPDATED": "roomUpdated",
    "ROOMDEACTIVATED": "roomDeactivated",
    "ROOMREACTIVATED": "roomReactivated",
    "USERJOINEDROOM": "userJoinedRoom",
    "USERLEFTROOM": "userLeftRoom",
    "ROOMMEMBERPROMOTEDTOOWNER": "roomMemberPromotedToOwner",
    "ROOMMEMBERDEMOTEDFROMOWNER": "roomMemberDemotedFromOwner",
}
"""Event types `StreamStore.room_event` builds, with their payload keys."""

_AFFECTED_USER_EVENTS = frozenset(
    {"USERJOINEDROOM", "USERLEFTROOM", "ROOMMEMBERPROMOTEDTOOWNER", "ROOMMEMBERDEMOTEDFROMOWNER"}
)


@frozen
class SentMessage:
    """A message as the pod stored it. `data` is the EntityJSON string, None when empty."""

    message_id: str
    stream_id: str
    sender: str  # username
    message_ml: str
    data: str | None
    presentation_ml: str
    text: str
    timestamp: int  # epoch milliseconds


@define
class StreamRecord:
    """A room, IM or multi-party IM; `members` are usernames in joining order."""

    stream_id: str
    stream_type: str  # IM | MIM | ROOM
    room_name: str | None
    members: list[str]
    owners: set[str] = field(factory=set)


def _new_id(size: int = 18) -> str:
    return secrets.token_urlsafe(size)


def _now_ms() -> int:
    return int(time.time() * 1000)


def parse_multipart(content_type: str | None, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body by name; file parts are ignored.

    Raises AgentApiError 400 when the body is not multipart/form-data.
    """
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise AgentApiError(400, "message create expects a multipart/form-data body")
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not message.is_multipart():
        raise AgentApiError(400, "malformed multipart/form-data body (no boundary?)")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            fields[name] = payload.decode(part.get_content_charset() or "utf-8", "replace")
    return fields


def to_presentation_ml(
    message_ml: str, directory: UserDirectory, data: str | None = None
) -> tuple[str, str | None, str]:
    """Validate MessageML and convert it: returns (PresentationML, EntityJSON or None, text).

    `<mention uid="…"/>` and `<mention email="…"/>` become entity spans with
    `com.symphony.user.mention` entities merged into `data` (the sender's EntityJSON).
    Raises AgentApiError 400 for anything a pod would refuse.
    """
    if _DECLARATION.search(message_ml):
        raise AgentApiError(400, "MessageML must not contain DOCTYPE or ENTITY declarations")
    try:
        root = ET.fromstring(message_ml)  # noqa: S314 - declarations refused above
    except ET.ParseError as exc:
        raise AgentApiError(400, f"MessageML is not well-formed XML: {exc}") from None
    if root.tag != "messageML":
        raise AgentApiError(400, f"MessageML must be rooted in <messageML>, not <{root.tag}>")
    if not (root.text or "").strip() and len(root) == 0:
        raise AgentApiError(400, "the message is empty")
    entities = _parse_entity_json(data)
    div = ET.Element("div", {"data-format": "PresentationML", "data-version": "2.0"})
    div.text = root.text
    for child in root:
        div.append(_convert(child, entities, directory))
    presentation = ET.tostring(div, encoding="unicode")
    text = _plain_text(div)
    return presentation, json.dumps(entities) if entities else None, text


def _plain_text(node: ET.Element) -> str:
    parts = [node.text or ""]
    for child in node:
        parts.append("\n" if child.tag == "br" else _plain_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _parse_entity_json(data: str | None) -> dict[str, Any]:
    if data is None or not data.strip():
        return {}
    try:
        entities = json.loads(data)
    except ValueError:
        raise AgentApiError(400, "data is not valid JSON (EntityJSON expected)") from None
    if not isinstance(entities, dict):
        raise AgentApiError(400, "data must be a JSON object (EntityJSON)")
    return entities


def _convert(node: ET.Element, entities: dict[str, Any], directory: UserDirectory) -> ET.Element:
    if node.tag != "mention":
        copy = ET.Element(node.tag, dict(node.attrib))
        copy.text, copy.tail = node.text, node.tail
        for child in node:
            copy.append(_convert(child, entities, directory))
        return copy
    user = _mentioned_user(node, directory)
    key = next(str(n) for n in range(len(entities) + 1) if str(n) not in entities)
    entities[key] = {
        "type": MENTION_TYPE,
        "version": "1.0",
        "id": [{"type": "com.symphony.user.userId", "value": user.user_id}],
    }
    span = ET.Element("span", {"class": "entity", "data-entity-id": key})
    span.text = f"@{user.display_name}"
    span.tail = node.tail
    return span


def _mentioned_user(node: ET.Element, directory: UserDirectory) -> UserRecord:
    uid, mail = node.get("uid"), node.get("email")
    if uid is not None:
        try:
            return directory.by_id(int(uid))
        except (ValueError, KeyError):
            raise AgentApiError(400, f"<mention uid={uid!r}> names no user of this pod") from None
    for user in directory:
        if mail is not None and user.email == mail:
            return user
    raise AgentApiError(400, "<mention> needs the uid or email of a user of this pod")


class StreamStore:
    """Streams and messages; publishes their events into `feeds`."""

    def __init__(self, directory: UserDirectory, feeds: FeedStore) -> None:
        self.directory = directory
        self.feeds = feeds
        self._streams: dict[str, StreamRecord] = {}
        self._messages: list[SentMessage] = []

    # -- streams --------------------------------------------------------------------------

    def create_room(self, name: str, members: Sequence[str], *, owner: str | None = None) -> str:
        """A room named `name` holding `members` (and `owner`, default the first member).
        No events are published: use `room_event` to simulate them."""
        everyone = list(dict.fromkeys([*([owner] if owner else []), *members]))
        if not everyone:
            raise ValueError("a room needs at least one member or an owner")
        for username in everyone:
            self.directory.get(username)  # KeyError naming an unknown user
        record = StreamRecord(_new_id(24), "ROOM", name, everyone, {owner or everyone[0]})
        self._streams[record.stream_id] = record
        return record.stream_id

    def create_im(self, *usernames: str) -> str:
        """The IM (two users) or MIM (more) between `usernames`; the same set of users
        always gets the same stream, as on a real pod."""
        members = list(dict.fromkeys(usernames))
        if len(members) < 2:
            raise ValueError("an IM needs at least two distinct users")
        for username in members:
            self.directory.get(username)
        for record in self._streams.values():
            if record.stream_type != "ROOM" and set(record.members) == set(members):
                return record.stream_id
        stream_type = "IM" if len(members) == 2 else "MIM"
        record = StreamRecord(_new_id(24), stream_type, None, members)
        self._streams[record.stream_id] = record
        return record.stream_id

    def stream(self, stream_id: str) -> StreamRecord:
        """The stream `stream_id`; KeyError naming it if unknown."""
        try:
            return self._streams[stream_id]
        except KeyError:
            raise KeyError(f"no stream {stream_id!r} in the emulator") from None

    def members(self, stream_id: str) -> tuple[str, ...]:
        return tuple(self.stream(stream_id).members)

    def is_member(self, username: str, stream_id: str) -> bool:
        record = self._streams.get(stream_id)
        return record is not None and username in record.members

    def v4_stream(self, record: StreamRecord) -> dict[str, Any]:
        """The stream as V4Stream JSON."""
        stream: dict[str, Any] = {"streamId": record.stream_id, "streamType": record.stream_type}
        if record.room_name is not None:
            stream["roomName"] = record.room_name
        return stream

    # -- messages -------------------------------------------------------------------------

    def send(
        self,
        as_user: str,
        stream_id: str,
        text: str | None = None,
        *,
        message_ml: str | None = None,
        data: str | None = None,
        mentions: Sequence[str] = (),
    ) -> SentMessage:
        """Post a message as `as_user` and publish MESSAGESENT to every member's feeds.

        Give either plain `text` (escaped; `mentions` are usernames rendered before it) or
        `message_ml`. Raises AgentApiError 400 (bad MessageML or data, unknown stream) or
        403 (`as_user` is not a member), KeyError for an unknown mentioned username.
        """
        if (text is None) == (message_ml is None):
            raise ValueError("give exactly one of text or message_ml")
        if message_ml is None:
            message_ml = self._text_to_message_ml(text or "", mentions)
        record = self._streams.get(stream_id)
        if record is None:
            raise AgentApiError(400, f"stream {stream_id} does not exist")
        if as_user not in record.members:
            raise AgentApiError(403, f"{as_user} is not a member of stream {stream_id}")
        presentation, entity_json, plain = to_presentation_ml(message_ml, self.directory, data)
        sent = SentMessage(
            message_id=_new_id(),
            stream_id=stream_id,
            sender=as_user,
            message_ml=message_ml,
            data=entity_json,
            presentation_ml=presentation,
            text=plain,
            timestamp=_now_ms(),
        )
        self._messages.append(sent)
        event = {
            "id": _new_id(),
            "messageId": sent.message_id,
            "timestamp": sent.timestamp,
            "type": "MESSAGESENT",
            "initiator": {"user": to_v4_user(self.directory.get(as_user))},
            "payload": {"messageSent": {"message": self.v4_message(sent)}},
        }
        self.feeds.publish(record.members, event)
        logger.debug("%s sent message %s to %s", as_user, sent.message_id, stream_id)
        return sent

    def _text_to_message_ml(self, text: str, mentions: Sequence[str]) -> str:
        tags = "".join(f'<mention uid="{self.directory.get(u).user_id}"/> ' for u in mentions)
        body = html.escape(text, quote=False).replace("\n", "<br/>")
        return f"<messageML>{tags}{body}</messageML>"

    def v4_message(self, sent: SentMessage) -> dict[str, Any]:
        """The message as V4Message JSON (the message-create response and event payload)."""
        return {
            "messageId": sent.message_id,
            "timestamp": sent.timestamp,
            "message": sent.presentation_ml,
            "data": sent.data if sent.data is not None else "{}",
            "attachments": [],
            "user": to_v4_user(self.directory.get(sent.sender)),
            "stream": self.v4_stream(self.stream(sent.stream_id)),
            "externalRecipients": False,
            "userAgent": "symbot-emulator",
            "originalFormat": "com.symphony.messageml.v2",
        }

    def sent_messages(self) -> list[SentMessage]:
        """Every message sent so far, oldest first."""
        return list(self._messages)

    # -- other events ---------------------------------------------------------------------

    def room_event(
        self,
        event_type: str,
        stream_id: str,
        initiator: str,
        affected_user: str | None = None,
    ) -> dict[str, Any]:
        """Build a stream event (a type of `ROOM_EVENT_TYPES`) and publish it to the
        stream's members. USERJOINEDROOM adds `affected_user` to the members first;
        USERLEFTROOM removes them after publishing, so both sides see the event; the
        promotion events update the owners. Returns the event."""
        payload_key = ROOM_EVENT_TYPES.get(event_type)
        if payload_key is None:
            raise ValueError(
                f"unsupported event type {event_type!r}; use one of: " + ", ".join(ROOM_EVENT_TYPES)
            )
        record = self.stream(stream_id)
        payload: dict[str, Any] = {"stream": self.v4_stream(record)}
        if event_type in _AFFECTED_USER_EVENTS:
            if affected_user is None:
                raise ValueError(f"{event_type} needs affected_user")
            payload["affectedUser"] = to_v4_user(self.directory.get(affected_user))
        if event_type in ("ROOMCREATED", "ROOMUPDATED"):
            key = "roomProperties" if event_type == "ROOMCREATED" else "newRoomProperties"
            payload[key] = {
                "name": record.room_name,
                "creatorUser": to_v4_user(self.directory.get(initiator)),
            }
        if event_type == "INSTANTMESSAGECREATED":
            payload["stream"]["members"] = [
                to_v4_user(self.directory.get(member)) for member in record.members
            ]
        event = {
            "id": _new_id(),
            "timestamp": _now_ms(),
            "type": event_type,
            "initiator": {"user": to_v4_user(self.directory.get(initiator))},
            "payload": {payload_key: payload},
        }
        recipients = list(record.members)
        if affected_user is not None:
            self._apply_membership(record, event_type, affected_user)
            recipients = list(dict.fromkeys([*recipients, *record.members]))
        self.feeds.publish(recipients, event)
        return event

    @staticmethod
    def _apply_membership(record: StreamRecord, event_type: str, username: str) -> None:
        if event_type == "USERJOINEDROOM" and username not in record.members:
            record.members.append(username)
        elif event_type == "USERLEFTROOM" and username in record.members:
            record.members.remove(username)
            record.owners.discard(username)
        elif event_type == "ROOMMEMBERPROMOTEDTOOWNER":
            record.owners.add(username)
        elif event_type == "ROOMMEMBERDEMOTEDFROMOWNER":
            record.owners.discard(username)
