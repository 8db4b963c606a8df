"""What the pod does with rooms, IMs and their members when a user asks through the API.

`Rooms` applies the pod API's rules on top of the `StreamStore`, and publishes the events a
pod emits: creating a room gives ROOMCREATED to its creator, updating it ROOMUPDATED to its
members, adding or removing a member USERJOINEDROOM / USERLEFTROOM to the members (the one
added or removed included), creating a new IM INSTANTMESSAGECREATED to its members.

Refusals follow the spec's statuses: an unknown stream, room or user, or a malformed body,
is 400 (the pod API has no 404); a caller who is not a member, not an owner, or not allowed
to invite is 403.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symbot.emulator._feeds import AgentApiError
from symbot.emulator._streams import StreamRecord, StreamStore, new_id

__all__ = ["ROOM_DEFAULTS", "Rooms"]

ROOM_DEFAULTS: Mapping[str, Any] = {
    "description": "",
    "keywords": [],
    "membersCanInvite": True,
    "discoverable": False,
    "public": False,
    "readOnly": False,
    "copyProtected": False,
    "crossPod": False,
    "viewHistory": False,
    "multiLateralRoom": False,
    "scheduledMeeting": False,
    "groupChat": False,
}
"""A room's attributes when it was created without them (a private room)."""

_FLAGS = frozenset(key for key, value in ROOM_DEFAULTS.items() if isinstance(value, bool))
_TEXTS = frozenset(("name", "description", "pinnedMessageId", "subType"))
_IGNORED_ON_CREATE = frozenset(("groupChat", "subType", "pinnedMessageId"))


def _checked_attributes(body: Mapping[str, Any]) -> dict[str, Any]:
    """The V3RoomAttributes of a request body that this emulator knows, type-checked (400);
    other keys are ignored, as a pod ignores what it does not know."""
    attributes: dict[str, Any] = {}
    for key, value in body.items():
        if value is None:
            continue
        if key in _FLAGS:
            if not isinstance(value, bool):
                raise AgentApiError(400, f"{key} must be true or false")
        elif key in _TEXTS:
            if not isinstance(value, str):
                raise AgentApiError(400, f"{key} must be a string")
        elif key == "keywords":
            if not isinstance(value, list) or not all(
                isinstance(item, dict)
                and isinstance(item.get("key"), str)
                and isinstance(item.get("value", ""), str)
                for item in value
            ):
                raise AgentApiError(400, "keywords must be a list of {key, value} strings")
            value = [{"key": item["key"], "value": item.get("value", "")} for item in value]
        else:
            continue
        attributes[key] = value
    if "name" in attributes and not attributes["name"].strip():
        raise AgentApiError(400, "the room name must not be empty")
    return attributes


class Rooms:
    """Room, IM and membership operations of the pod API, on `store`."""

    def __init__(self, store: StreamStore) -> None:
        self.store = store
        self.directory = store.directory

    # -- lookups --------------------------------------------------------------------------

    def stream_for(self, caller: str, stream_id: str) -> StreamRecord:
        """Stream `stream_id` if `caller` is a member: 400 unknown, 403 not a member."""
        try:
            record = self.store.stream(stream_id)
        except KeyError:
            raise AgentApiError(400, f"stream {stream_id} does not exist") from None
        if caller not in record.members:
            raise AgentApiError(403, f"{caller} is not a member of stream {stream_id}")
        return record

    def room_for(self, caller: str, room_id: str, *, visible: bool = False) -> StreamRecord:
        """Room `room_id` if `caller` is a member (or, with `visible`, the room is public or
        discoverable): 400 unknown or not a room, 403 otherwise."""
        try:
            record = self.store.stream(room_id)
        except KeyError:
            raise AgentApiError(400, f"room {room_id} does not exist") from None
        if record.stream_type != "ROOM":
            raise AgentApiError(400, f"stream {room_id} is an {record.stream_type}, not a room")
        attributes = self.attributes(record)
        if caller not in record.members and not (
            visible and (attributes["public"] or attributes["discoverable"])
        ):
            raise AgentApiError(403, f"{caller} is not a member of room {room_id}")
        return record

    def user_by_id(self, user_id: object) -> str:
        """The username of user id `user_id`; 400 if it is not one of this pod's users."""
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise AgentApiError(400, f"user ids are integers, not {user_id!r}")
        try:
            return self.directory.by_id(user_id).username
        except KeyError:
            raise AgentApiError(400, f"user {user_id} does not exist") from None

    @staticmethod
    def attributes(record: StreamRecord) -> dict[str, Any]:
        return {**ROOM_DEFAULTS, **record.attributes, "name": record.room_name}

    # -- rooms ----------------------------------------------------------------------------

    def create_room(self, caller: str, body: Mapping[str, Any]) -> StreamRecord:
        """A room with `caller` as its owner and only member; ROOMCREATED to the caller."""
        attributes = _checked_attributes(body)
        name = attributes.pop("name", None)
        if not name:
            raise AgentApiError(400, "a room needs a name")
        for key in _IGNORED_ON_CREATE:
            attributes.pop(key, None)
        record = StreamRecord(
            new_id(24), "ROOM", name, [caller], {caller}, caller, attributes=attributes
        )
        self.store.add_stream(record)
        self.store.room_event("ROOMCREATED", record.stream_id, caller)
        return record

    def update_room(self, caller: str, room_id: str, body: Mapping[str, Any]) -> StreamRecord:
        """Change what `body` gives (owners only); ROOMUPDATED to the members."""
        record = self.room_for(caller, room_id)
        if caller not in record.owners:
            raise AgentApiError(403, f"{caller} is not an owner of room {room_id}")
        attributes = _checked_attributes(body)
        name = attributes.pop("name", None)
        if name is not None:
            record.room_name = name
        record.attributes.update(attributes)
        self.store.room_event("ROOMUPDATED", room_id, caller)
        return record

    def room_detail(self, record: StreamRecord) -> dict[str, Any]:
        """V3RoomDetail."""
        attributes = self.attributes(record)
        creator = record.creator or record.members[0]
        return {
            "roomAttributes": attributes,
            "roomSystemInfo": {
                "id": record.stream_id,
                "creationDate": record.created_at,
                "createdByUserId": self.directory.get(creator).user_id,
                "active": record.active,
            },
        }

    # -- members --------------------------------------------------------------------------

    def members(self, caller: str, room_id: str) -> list[dict[str, Any]]:
        """MembershipList of a room the caller may see."""
        record = self.room_for(caller, room_id, visible=True)
        return [
            {
                "id": self.directory.get(member).user_id,
                "owner": member in record.owners,
                "joinDate": record.joined.get(member, record.created_at),
            }
            for member in record.members
        ]

    def add_member(self, caller: str, room_id: str, user_id: object) -> None:
        """Add a user: owners may, members too when the room lets members invite."""
        record = self.room_for(caller, room_id)
        username = self.user_by_id(user_id)
        if caller not in record.owners and not self.attributes(record)["membersCanInvite"]:
            raise AgentApiError(403, f"only owners may add members to room {room_id}")
        if username not in record.members:
            self.store.room_event("USERJOINEDROOM", room_id, caller, username)

    def remove_member(self, caller: str, room_id: str, user_id: object) -> None:
        """Remove a user: owners may remove anyone, members themselves."""
        record = self.room_for(caller, room_id)
        username = self.user_by_id(user_id)
        if caller not in record.owners and caller != username:
            raise AgentApiError(403, f"only owners may remove members from room {room_id}")
        if username in record.members:
            self.store.room_event("USERLEFTROOM", room_id, caller, username)

    # -- IMs and streams ------------------------------------------------------------------

    def create_im(self, caller: str, user_ids: Sequence[object]) -> str:
        """The IM/MIM of the caller and `user_ids` (the existing one if there is one);
        INSTANTMESSAGECREATED to its members when it is new."""
        if not user_ids:
            raise AgentApiError(400, "at least one user id must be provided")
        others = [self.user_by_id(user_id) for user_id in user_ids]
        members = list(dict.fromkeys([caller, *others]))
        if len(members) < 2:
            raise AgentApiError(400, "an IM needs at least one user besides the caller")
        known = len(self.store.streams())
        stream_id = self.store.create_im(*members)
        if len(self.store.streams()) > known:
            self.store.room_event("INSTANTMESSAGECREATED", stream_id, caller)
        return stream_id

    def stream_info(self, caller: str, stream_id: str) -> dict[str, Any]:
        """V2StreamAttributes of a stream the caller is a member of."""
        record = self.stream_for(caller, stream_id)
        info = self._stream_attributes(record)
        times = [m.timestamp for m in self.store.sent_messages() if m.stream_id == stream_id]
        info["origin"] = "INTERNAL"
        if times:
            info["lastMessageDate"] = max(times)
        return info

    def list_streams(
        self, caller: str, body: Mapping[str, Any], skip: int, limit: int
    ) -> list[dict[str, Any]]:
        """StreamList: the caller's streams, oldest first, filtered by StreamFilter."""
        types = body.get("streamTypes")
        include_inactive = body.get("includeInactiveStreams", False)
        if types is not None and (
            not isinstance(types, list)
            or not all(isinstance(t, dict) and isinstance(t.get("type"), str) for t in types)
        ):
            raise AgentApiError(400, "streamTypes must be a list of {type} objects")
        if not isinstance(include_inactive, bool):
            raise AgentApiError(400, "includeInactiveStreams must be true or false")
        wanted = None if not types else {t["type"] for t in types}
        mine = [
            record
            for record in self.store.streams()
            if caller in record.members
            and (wanted is None or record.stream_type in wanted)
            and (record.active or include_inactive)
        ]
        return [self._stream_attributes(record) for record in mine[skip : skip + limit]]

    def _stream_attributes(self, record: StreamRecord) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": record.stream_id,
            "crossPod": False,
            "active": record.active,
            "streamType": {"type": record.stream_type},
        }
        if record.stream_type == "ROOM":
            info["roomAttributes"] = {"name": record.room_name}
        else:
            ids = [self.directory.get(member).user_id for member in record.members]
            info["streamAttributes"] = {"members": ids}
        return info
