"""`Streams`: conversations — IMs, rooms, their members, and the bot's list of streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, TypedDict, Unpack

import httpx
from attrs import frozen

from symbot._fields import (
    FieldError,
    opt_bool,
    opt_int,
    opt_ints,
    opt_object,
    opt_objects,
    opt_str,
    req_str,
)
from symbot.client import SymphonyClient
from symbot.services._calls import Calls, expect, url_safe_id
from symbot.services._paging import check_paging, offset_pages

__all__ = ["Member", "RoomChanges", "RoomInfo", "RoomSettings", "StreamInfo", "Streams"]

STREAM_TYPES = ("IM", "MIM", "ROOM", "POST")


@frozen
class StreamInfo:
    """A stream (V2StreamAttributes, or StreamAttributes in a listing). `members` are the
    user ids of an IM or MIM (rooms list theirs with `Streams.members`)."""

    stream_id: str
    stream_type: str | None = None  # IM, MIM, ROOM or POST
    room_name: str | None = None
    active: bool | None = None
    cross_pod: bool | None = None
    origin: str | None = None  # INTERNAL or EXTERNAL (stream info only)
    last_message_date: int | None = None  # epoch ms (stream info only)
    members: tuple[int, ...] = ()


@frozen
class RoomInfo:
    """A room (V3RoomDetail): its attributes and system information."""

    room_id: str
    name: str | None = None
    description: str | None = None
    keywords: tuple[tuple[str, str], ...] = ()
    members_can_invite: bool | None = None
    discoverable: bool | None = None
    public: bool | None = None
    read_only: bool | None = None
    copy_protected: bool | None = None
    cross_pod: bool | None = None
    view_history: bool | None = None
    multi_lateral_room: bool | None = None
    scheduled_meeting: bool | None = None
    pinned_message_id: str | None = None
    group_chat: bool | None = None
    created_at: int | None = None  # epoch ms
    created_by: int | None = None  # user id
    active: bool | None = None


@frozen
class Member:
    """A member of a room (MemberInfo): `join_date` in epoch ms."""

    user_id: int
    owner: bool = False
    join_date: int | None = None


class RoomSettings(TypedDict, total=False):
    """What a room can be created with, besides its name (V3RoomAttributes)."""

    description: str
    keywords: Mapping[str, str]
    members_can_invite: bool
    discoverable: bool
    public: bool
    read_only: bool
    copy_protected: bool
    cross_pod: bool
    view_history: bool
    multi_lateral_room: bool
    scheduled_meeting: bool
    pinned_message_id: str  # update only: "" unpins


class RoomChanges(RoomSettings, total=False):
    """What `update_room` may change: any setting, and the name."""

    name: str


_ROOM_JSON = {
    "name": "name",
    "description": "description",
    "keywords": "keywords",
    "members_can_invite": "membersCanInvite",
    "discoverable": "discoverable",
    "public": "public",
    "read_only": "readOnly",
    "copy_protected": "copyProtected",
    "cross_pod": "crossPod",
    "view_history": "viewHistory",
    "multi_lateral_room": "multiLateralRoom",
    "scheduled_meeting": "scheduledMeeting",
    "pinned_message_id": "pinnedMessageId",
}
_ROOM_TEXTS = frozenset(("name", "description", "pinned_message_id"))


def _room_attributes(values: Mapping[str, object]) -> dict[str, Any]:
    """Room settings as V3RoomAttributes JSON; TypeError naming a wrong key or value."""
    body: dict[str, Any] = {}
    for key, value in values.items():
        name = _ROOM_JSON.get(key)
        if name is None:
            raise TypeError(f"unknown room setting {key!r}; use one of {sorted(_ROOM_JSON)}")
        if key == "keywords":
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise TypeError("keywords must map strings to strings")
            body[name] = [{"key": k, "value": v} for k, v in value.items()]
        elif key in _ROOM_TEXTS:
            if not isinstance(value, str):
                raise TypeError(f"room setting {key} must be a string, not {value!r}")
            body[name] = value
        elif isinstance(value, bool):
            body[name] = value
        else:
            raise TypeError(f"room setting {key} must be True or False, not {value!r}")
    return body


def read_stream_info(raw: Mapping[str, Any], where: str = "") -> StreamInfo:
    kind = opt_object(raw, "streamType", where)
    conversation = opt_object(raw, "streamAttributes", where) or {}
    room = opt_object(raw, "roomAttributes", where) or {}
    return StreamInfo(
        req_str(raw, "id", where),
        None if kind is None else opt_str(kind, "type", f"{where}.streamType"),
        opt_str(room, "name", f"{where}.roomAttributes"),
        opt_bool(raw, "active", where),
        opt_bool(raw, "crossPod", where),
        opt_str(raw, "origin", where),
        opt_int(raw, "lastMessageDate", where),
        opt_ints(conversation, "members", f"{where}.streamAttributes"),
    )


def read_room_info(payload: object) -> RoomInfo:
    raw = expect(dict, payload)
    attributes = opt_object(raw, "roomAttributes", "") or {}
    system = opt_object(raw, "roomSystemInfo", "")
    if system is None:
        raise FieldError("roomSystemInfo", "missing")
    a, s = "roomAttributes", "roomSystemInfo"
    keywords = tuple(
        (req_str(item, "key", path), opt_str(item, "value", path) or "")
        for item, path in opt_objects(attributes, "keywords", a)
    )

    def flag(key: str) -> bool | None:
        return opt_bool(attributes, key, a)

    return RoomInfo(
        room_id=req_str(system, "id", s),
        name=opt_str(attributes, "name", a),
        description=opt_str(attributes, "description", a),
        keywords=keywords,
        members_can_invite=flag("membersCanInvite"),
        discoverable=flag("discoverable"),
        public=flag("public"),
        read_only=flag("readOnly"),
        copy_protected=flag("copyProtected"),
        cross_pod=flag("crossPod"),
        view_history=flag("viewHistory"),
        multi_lateral_room=flag("multiLateralRoom"),
        scheduled_meeting=flag("scheduledMeeting"),
        pinned_message_id=opt_str(attributes, "pinnedMessageId", a),
        group_chat=flag("groupChat"),
        created_at=opt_int(system, "creationDate", s),
        created_by=opt_int(system, "createdByUserId", s),
        active=opt_bool(system, "active", s),
    )


def _members(payload: object) -> list[Member]:
    members = []
    for index, item in enumerate(expect(list, payload)):
        path = f"[{index}]"
        raw = expect(dict, item, path)
        user_id = opt_int(raw, "id", path)
        if user_id is None:
            raise FieldError(f"{path}.id", "missing")
        members.append(
            Member(user_id, bool(opt_bool(raw, "owner", path)), opt_int(raw, "joinDate", path))
        )
    return members


def _stream_list(payload: object) -> list[StreamInfo]:
    return [
        read_stream_info(expect(dict, item, f"[{index}]"), f"[{index}]")
        for index, item in enumerate(expect(list, payload))
    ]


def _stream_id(payload: object) -> str:
    return req_str(expect(dict, payload), "id", "")


def _path(template: str, stream_id: str) -> str:
    return template.format(url_safe_id(stream_id))


def _user_id(user_id: int) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise TypeError(f"user ids are integers, not {type(user_id).__name__}: {user_id!r}")
    return user_id


class Streams:
    """IMs, rooms and memberships, through `client`:
    its tokens, retries and guarded decoding.

    ```python
    streams = Streams(client)                           # in a bot: bot.streams
    im = await streams.create_im(alice.user_id)         # the IM's stream id (same one every time)
    room = await streams.create_room("Ops", description="Incidents", public=False)
    await streams.add_member(room.room_id, alice.user_id)
    for member in await streams.members(room.room_id):
        print(member.user_id, "owner" if member.owner else "")
    async for stream in streams.list_streams(types=["ROOM"]):
        print(stream.stream_id, stream.room_name)
    ```

    Endpoints (pod API): `POST /pod/v1/im/create`, `POST /pod/v3/room/create`,
    `GET /pod/v3/room/{id}/info`, `POST /pod/v3/room/{id}/update`, `GET /pod/v2/streams/{sid}/info`,
    `GET /pod/v2/room/{id}/membership/list`, `POST /pod/v1/room/{id}/membership/add|remove`,
    `POST /pod/v1/streams/list` (paged). A stream or room the pod does not know raises
    `NotFoundError`; a room the bot may not see or change raises `ForbiddenError`.
    """

    def __init__(self, client: SymphonyClient, *, auth: httpx.Auth | None = None) -> None:
        self._calls = Calls(client, auth=auth)

    async def create_im(self, *user_ids: int) -> str:
        """The stream id of the IM between the bot and `user_ids` (a MIM for several). The
        pod answers the existing conversation when there is one."""
        if not user_ids:
            raise ValueError("create_im needs at least one user id besides the bot")
        ids = [_user_id(user_id) for user_id in user_ids]
        return await self._calls.json(
            "pod",
            "POST",
            "/pod/v1/im/create",
            subject="user " + ", ".join(map(str, ids)),
            read=_stream_id,
            lookup=True,
            json=ids,
        )

    async def create_room(self, name: str, **settings: Unpack[RoomSettings]) -> RoomInfo:
        """A new room named `name`, with the bot as its owner and only member. Settings
        not given take the pod's defaults (a private room)."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a room needs a non-empty name")
        body = _room_attributes({"name": name, **settings})
        return await self._calls.json(
            "pod",
            "POST",
            "/pod/v3/room/create",
            subject=f"room {name!r}",
            read=read_room_info,
            idempotent=False,  # a retried 5xx could create two rooms
            json=body,
        )

    async def room_info(self, room_id: str) -> RoomInfo:
        """The attributes of room `room_id`."""
        path = _path("/pod/v3/room/{}/info", room_id)
        return await self._calls.json(
            "pod", "GET", path, subject=f"room {room_id!r}", read=read_room_info, lookup=True
        )

    async def update_room(self, room_id: str, **changes: Unpack[RoomChanges]) -> RoomInfo:
        """Change the given attributes of room `room_id` (the bot must own it); the room as
        it is now."""
        if not changes:
            raise ValueError("update_room needs at least one attribute to change")
        path = _path("/pod/v3/room/{}/update", room_id)
        return await self._calls.json(
            "pod",
            "POST",
            path,
            subject=f"room {room_id!r}",
            read=read_room_info,
            json=_room_attributes(changes),
        )

    async def info(self, stream_id: str) -> StreamInfo:
        """What stream `stream_id` is (type, activity, an IM's members, a room's name)."""
        path = _path("/pod/v2/streams/{}/info", stream_id)
        return await self._calls.json(
            "pod",
            "GET",
            path,
            subject=f"stream {stream_id!r}",
            read=lambda payload: read_stream_info(expect(dict, payload)),
            lookup=True,
        )

    async def members(self, room_id: str) -> list[Member]:
        """The members of room `room_id`, owners marked."""
        path = _path("/pod/v2/room/{}/membership/list", room_id)
        return await self._calls.json(
            "pod", "GET", path, subject=f"room {room_id!r}", read=_members, lookup=True
        )

    async def add_member(self, room_id: str, user_id: int) -> None:
        """Add user `user_id` to room `room_id` (a no-op if already there)."""
        await self._membership(room_id, user_id, "add")

    async def remove_member(self, room_id: str, user_id: int) -> None:
        """Remove user `user_id` from room `room_id`."""
        await self._membership(room_id, user_id, "remove")

    async def _membership(self, room_id: str, user_id: int, change: str) -> None:
        path = _path("/pod/v1/room/{}/membership/" + change, room_id)
        await self._calls.send(
            "pod",
            "POST",
            path,
            subject=f"room {room_id!r} or user {user_id}",
            lookup=True,
            json={"id": _user_id(user_id)},
        )

    def list_streams(
        self,
        *,
        types: Iterable[str] | None = None,
        include_inactive: bool = False,
        page_size: int = 50,
        limit: int | None = None,
    ) -> AsyncIterator[StreamInfo]:
        """The streams the bot is a member of, oldest first, of the given `types` (IM, MIM,
        ROOM, POST; None: all), page after page."""
        check_paging(page_size, limit, maximum=1000)
        body: dict[str, Any] = {"includeInactiveStreams": include_inactive}
        if types is not None:
            wanted = [str(kind).upper() for kind in types]
            unknown = sorted(set(wanted) - set(STREAM_TYPES))
            if unknown:
                raise ValueError(f"unknown stream types {unknown}; use {list(STREAM_TYPES)}")
            body["streamTypes"] = [{"type": kind} for kind in wanted]

        async def page(skip: int, count: int) -> list[StreamInfo]:
            return await self._calls.json(
                "pod",
                "POST",
                "/pod/v1/streams/list",
                subject="the bot's streams",
                read=_stream_list,
                empty=list,
                params={"skip": skip, "limit": count},
                json=body,
            )

        return offset_pages(page, page_size=page_size, limit=limit)
