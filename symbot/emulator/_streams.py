"""Rooms, IMs and messages of the emulated pod, and the events they put into datafeeds.

Every message, whether sent through the API (`/agent/v4/stream/{sid}/message/create`, or an
update) or by a test through the emulator's controls, goes through one path: MessageML is
validated and converted to PresentationML (`symbot.emulator._messageml`), stored with its
attachments as a `SentMessage`, and published as a MESSAGESENT event to the feeds of every
member of the stream, the sender included, as a real pod does. An update is a new message
whose `replacing` names the one it replaces.
"""

from __future__ import annotations

import html
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define, field, frozen

from symbot.emulator._directory import UserDirectory, to_v4_user
from symbot.emulator._feeds import AgentApiError, FeedStore
from symbot.emulator._messageml import to_presentation_ml

__all__ = [
    "ROOM_EVENT_TYPES",
    "SentMessage",
    "StoredAttachment",
    "StreamRecord",
    "StreamStore",
    "new_id",
    "now_ms",
]

logger = logging.getLogger("symbot.emulator")

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

_ROOM_PROPERTIES = {
    "description": "description",
    "crossPod": "crossPod",
    "public": "public",
    "copyProtected": "copyProtected",
    "readOnly": "readOnly",
    "discoverable": "discoverable",
    "membersCanInvite": "membersCanInvite",
    "viewHistory": "canViewHistory",
}
"""V3RoomAttributes key → V4RoomProperties key, for the room events."""

_AFFECTED_USER_EVENTS = frozenset(
    {"USERJOINEDROOM", "USERLEFTROOM", "ROOMMEMBERPROMOTEDTOOWNER", "ROOMMEMBERDEMOTEDFROMOWNER"}
)


def new_id(size: int = 18) -> str:
    """A fresh id in Symphony's style: URL-safe base64, no padding."""
    return secrets.token_urlsafe(size)


def now_ms() -> int:
    return int(time.time() * 1000)


@frozen
class StoredAttachment:
    """A file attached to a message, kept whole so members can download it."""

    attachment_id: str
    name: str
    content_type: str
    content: bytes = field(repr=False)

    def v4_json(self) -> dict[str, Any]:
        """V4AttachmentInfo."""
        return {
            "id": self.attachment_id,
            "name": self.name,
            "size": len(self.content),
            "images": [],
        }


@frozen
class SentMessage:
    """A message as the pod stored it. `data` is the EntityJSON string, None when empty.
    An update is a message of its own: `replacing` is the id of the version it replaces,
    `initial_message_id`/`initial_timestamp` those of the first version."""

    message_id: str
    stream_id: str
    sender: str  # username
    message_ml: str
    data: str | None
    presentation_ml: str
    text: str
    timestamp: int  # epoch milliseconds
    attachments: tuple[StoredAttachment, ...] = ()
    replacing: str | None = None
    initial_message_id: str | None = None
    initial_timestamp: int | None = None


@define
class StreamRecord:
    """A room, IM or multi-party IM; `members` are usernames in joining order.

    `attributes` are a room's V3RoomAttributes besides its name (description, keywords,
    flags), as the API gave them; `joined` the epoch ms each member joined at."""

    stream_id: str
    stream_type: str  # IM | MIM | ROOM
    room_name: str | None
    members: list[str]
    owners: set[str] = field(factory=set)
    creator: str | None = None
    created_at: int = field(factory=now_ms)
    active: bool = True
    attributes: dict[str, Any] = field(factory=dict)
    joined: dict[str, int] = field(factory=dict)

    def __attrs_post_init__(self) -> None:
        for member in self.members:
            self.joined.setdefault(member, self.created_at)


class StreamStore:
    """Streams and messages; publishes their events into `feeds`."""

    def __init__(self, directory: UserDirectory, feeds: FeedStore) -> None:
        self.directory = directory
        self.feeds = feeds
        self._streams: dict[str, StreamRecord] = {}
        self._messages: list[SentMessage] = []
        self._by_id: dict[str, SentMessage] = {}
        self.replaced_by: dict[str, str] = {}  # message id → the id of its next version
        self.suppressed: dict[str, int] = {}  # message id → when it was suppressed (ms)

    # -- streams --------------------------------------------------------------------------

    def create_room(self, name: str, members: Sequence[str], *, owner: str | None = None) -> str:
        """A room named `name` holding `members` (and `owner`, default the first member).
        No events are published: use `room_event` to simulate them."""
        everyone = list(dict.fromkeys([*([owner] if owner else []), *members]))
        if not everyone:
            raise ValueError("a room needs at least one member or an owner")
        for username in everyone:
            self.directory.get(username)  # KeyError naming an unknown user
        creator = owner or everyone[0]
        record = StreamRecord(new_id(24), "ROOM", name, everyone, {creator}, creator)
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
        record = StreamRecord(new_id(24), stream_type, None, members, creator=members[0])
        self._streams[record.stream_id] = record
        return record.stream_id

    def add_stream(self, record: StreamRecord) -> StreamRecord:
        """Keep a stream built elsewhere (a room created through the API)."""
        self._streams[record.stream_id] = record
        return record

    def streams(self) -> list[StreamRecord]:
        """Every stream, oldest first."""
        return list(self._streams.values())

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
        attachments: Sequence[tuple[str, bytes, str]] = (),
        replacing: SentMessage | None = None,
    ) -> SentMessage:
        """Post a message as `as_user` and publish MESSAGESENT to every member's feeds.

        Give either plain `text` (escaped; `mentions` are usernames rendered before it) or
        `message_ml`; `attachments` are (file name, content, content type). With
        `replacing`, the message is the new version of that one (an update). Raises
        AgentApiError 400 (bad MessageML or data, unknown stream) or 403 (`as_user` is not
        a member), KeyError for an unknown mentioned username.
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
        first = replacing
        if replacing is not None:
            first = self._by_id.get(replacing.initial_message_id or "", replacing)
        sent = SentMessage(
            message_id=new_id(),
            stream_id=stream_id,
            sender=as_user,
            message_ml=message_ml,
            data=entity_json,
            presentation_ml=presentation,
            text=plain,
            timestamp=now_ms(),
            attachments=tuple(
                StoredAttachment(new_id(), name, kind, content)
                for name, content, kind in attachments
            ),
            replacing=None if replacing is None else replacing.message_id,
            initial_message_id=None if first is None else first.message_id,
            initial_timestamp=None if first is None else first.timestamp,
        )
        if replacing is not None:
            self.replaced_by[replacing.message_id] = sent.message_id
        self._messages.append(sent)
        self._by_id[sent.message_id] = sent
        event = {
            "id": new_id(),
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
        message = {
            "messageId": sent.message_id,
            "timestamp": sent.timestamp,
            "message": sent.presentation_ml,
            "data": sent.data if sent.data is not None else "{}",
            "attachments": [attachment.v4_json() for attachment in sent.attachments],
            "user": to_v4_user(self.directory.get(sent.sender)),
            "stream": self.v4_stream(self.stream(sent.stream_id)),
            "externalRecipients": False,
            "userAgent": "symbot-emulator",
            "originalFormat": "com.symphony.messageml.v2",
        }
        optional = {
            "replacing": sent.replacing,
            "replacedBy": self.replaced_by.get(sent.message_id),
            "initialMessageId": sent.initial_message_id,
            "initialTimestamp": sent.initial_timestamp,
        }
        message.update({key: value for key, value in optional.items() if value is not None})
        return message

    def sent_messages(self) -> list[SentMessage]:
        """Every message sent so far, oldest first (updates are messages of their own)."""
        return list(self._messages)

    def message(self, message_id: str) -> SentMessage:
        """The message `message_id` (suppressed ones included); KeyError if unknown."""
        try:
            return self._by_id[message_id]
        except KeyError:
            raise KeyError(f"no message {message_id!r} in the emulator") from None

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
            payload[key] = self._room_properties(record, initiator)
        if event_type == "INSTANTMESSAGECREATED":
            payload["stream"]["members"] = [
                to_v4_user(self.directory.get(member)) for member in record.members
            ]
        event = {
            "id": new_id(),
            "timestamp": now_ms(),
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

    def _room_properties(self, record: StreamRecord, initiator: str) -> dict[str, Any]:
        """V4RoomProperties of a room, from its V3RoomAttributes."""
        attributes = record.attributes
        properties: dict[str, Any] = {
            "name": record.room_name,
            "creatorUser": to_v4_user(self.directory.get(record.creator or initiator)),
            "createdDate": record.created_at,
            "external": False,
            "keywords": list(attributes.get("keywords", [])),
        }
        for v3, v4 in _ROOM_PROPERTIES.items():
            if v3 in attributes:
                properties[v4] = attributes[v3]
        return properties

    @staticmethod
    def _apply_membership(record: StreamRecord, event_type: str, username: str) -> None:
        if event_type == "USERJOINEDROOM" and username not in record.members:
            record.members.append(username)
            record.joined[username] = now_ms()
        elif event_type == "USERLEFTROOM" and username in record.members:
            record.members.remove(username)
            record.owners.discard(username)
        elif event_type == "ROOMMEMBERPROMOTEDTOOWNER":
            record.owners.add(username)
        elif event_type == "ROOMMEMBERDEMOTEDFROMOWNER":
            record.owners.discard(username)
