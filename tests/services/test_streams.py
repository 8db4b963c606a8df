"""Streams: IMs, rooms and their members, the bot's streams; refusals that name their subject,
and the events the pod emits for each change."""

from __future__ import annotations

import pytest

from symbot.emulator import Emulator
from symbot.errors import ForbiddenError, NotFoundError
from symbot.services import Member, RoomInfo, StreamInfo, Streams

from .support import BOT, events_of, user_id

pytestmark = pytest.mark.anyio


def feeds(emu: Emulator, *usernames: str) -> dict[str, str]:
    return {name: emu.feed_store.create(name).feed_id for name in usernames}


async def test_create_im_gives_the_same_stream_each_time_and_one_event(
    streams: Streams, emu: Emulator
) -> None:
    feed = feeds(emu, "alice")
    alice = user_id(emu, "alice")
    im = await streams.create_im(alice)
    assert await streams.create_im(alice) == im
    assert await streams.info(im) == StreamInfo(
        stream_id=im,
        stream_type="IM",
        active=True,
        cross_pod=False,
        origin="INTERNAL",
        members=(user_id(emu, BOT), alice),
    )
    events = await events_of(emu, "alice", feed["alice"])
    assert [event["type"] for event in events] == ["INSTANTMESSAGECREATED"]


async def test_create_im_with_several_users_is_a_mim(streams: Streams, emu: Emulator) -> None:
    mim = await streams.create_im(user_id(emu, "alice"), user_id(emu, "bob"))
    assert (await streams.info(mim)).stream_type == "MIM"


async def test_create_im_with_an_unknown_user_is_not_found(streams: Streams) -> None:
    with pytest.raises(NotFoundError, match="no such user 42"):
        await streams.create_im(42)
    with pytest.raises(ValueError, match="at least one user"):
        await streams.create_im()


async def test_create_room_applies_settings_and_tells_the_creator(
    streams: Streams, emu: Emulator
) -> None:
    feed = feeds(emu, BOT)
    room = await streams.create_room(
        "Ops", description="Incidents", keywords={"region": "EMEA"}, members_can_invite=False
    )
    assert isinstance(room, RoomInfo)
    assert (room.name, room.description, room.keywords) == (
        "Ops",
        "Incidents",
        (("region", "EMEA"),),
    )
    assert (room.members_can_invite, room.public, room.active) == (False, False, True)
    assert room.created_by == user_id(emu, BOT)
    assert await streams.room_info(room.room_id) == room
    assert await streams.members(room.room_id) == [
        Member(user_id(emu, BOT), owner=True, join_date=room.created_at)
    ]
    [event] = await events_of(emu, BOT, feed[BOT])
    assert event["type"] == "ROOMCREATED"
    assert event["payload"]["roomCreated"]["roomProperties"]["description"] == "Incidents"


async def test_room_settings_are_checked_before_any_request(
    streams: Streams, emu: Emulator
) -> None:
    with pytest.raises(TypeError, match="unknown room setting 'colour'"):
        await streams.create_room("Ops", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="public must be True or False"):
        await streams.create_room("Ops", public="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty name"):
        await streams.create_room(" ")
    assert emu.received_requests("/pod/v3/room") == []


async def test_update_room_changes_what_is_given_and_tells_the_members(
    streams: Streams, emu: Emulator
) -> None:
    room = await streams.create_room("Ops")
    await streams.add_member(room.room_id, user_id(emu, "alice"))
    feed = feeds(emu, "alice")
    updated = await streams.update_room(room.room_id, name="Ops 24/7", view_history=True)
    assert (updated.name, updated.view_history, updated.description) == ("Ops 24/7", True, "")
    [event] = await events_of(emu, "alice", feed["alice"])
    assert event["type"] == "ROOMUPDATED"
    assert event["payload"]["roomUpdated"]["newRoomProperties"]["name"] == "Ops 24/7"


async def test_only_owners_update_a_room(streams: Streams, emu: Emulator) -> None:
    room = emu.create_room("Theirs", ["alice", BOT], owner="alice")
    with pytest.raises(ForbiddenError, match=f"not allowed on room '{room}'"):
        await streams.update_room(room, name="Mine")


async def test_unknown_streams_and_rooms_are_not_found(streams: Streams) -> None:
    with pytest.raises(NotFoundError, match="no such stream 'nope'") as caught:
        await streams.info("nope")
    assert caught.value.status == 400
    assert "does not exist" in caught.value.server_message
    with pytest.raises(NotFoundError, match="no such room 'nope'"):
        await streams.room_info("nope")
    with pytest.raises(NotFoundError, match="no such room 'nope'"):
        await streams.members("nope")


async def test_streams_the_bot_is_not_in_are_forbidden(streams: Streams, emu: Emulator) -> None:
    im = emu.create_im("alice", "bob")
    room = emu.create_room("Private", ["alice", "bob"])
    with pytest.raises(ForbiddenError, match="the bot is not a member"):
        await streams.info(im)
    with pytest.raises(ForbiddenError):
        await streams.room_info(room)
    with pytest.raises(ForbiddenError):
        await streams.add_member(room, user_id(emu, "carol"))


async def test_members_are_added_and_removed_with_their_events(
    streams: Streams, emu: Emulator
) -> None:
    room = await streams.create_room("Ops")
    alice, bob = user_id(emu, "alice"), user_id(emu, "bob")
    await streams.add_member(room.room_id, alice)
    feed = feeds(emu, BOT, "alice", "bob")
    await streams.add_member(room.room_id, bob)
    await streams.add_member(room.room_id, bob)  # already there: nothing happens
    assert [m.user_id for m in await streams.members(room.room_id)] == [
        user_id(emu, BOT),
        alice,
        bob,
    ]
    await streams.remove_member(room.room_id, alice)
    assert [m.user_id for m in await streams.members(room.room_id)] == [user_id(emu, BOT), bob]
    for username in (BOT, "alice", "bob"):  # alice hears of her own removal, bob of his joining
        events = await events_of(emu, username, feed[username])
        assert [event["type"] for event in events] == ["USERJOINEDROOM", "USERLEFTROOM"]
        joined, left = (event["payload"] for event in events)
        assert joined["userJoinedRoom"]["affectedUser"]["userId"] == bob
        assert left["userLeftRoom"]["affectedUser"]["userId"] == alice


async def test_adding_an_unknown_user_is_not_found(streams: Streams) -> None:
    room = await streams.create_room("Ops")
    with pytest.raises(NotFoundError, match=f"no such room '{room.room_id}' or user 42"):
        await streams.add_member(room.room_id, 42)


async def test_list_streams_pages_through_the_bots_streams_by_type(
    streams: Streams, emu: Emulator
) -> None:
    im = await streams.create_im(user_id(emu, "alice"))
    rooms = [(await streams.create_room(f"Room {n}")).room_id for n in range(5)]
    emu.create_room("Elsewhere", ["alice", "bob"])
    every = [stream.stream_id async for stream in streams.list_streams(page_size=2)]
    assert every == [im, *rooms]
    assert len(emu.received_requests("/pod/v1/streams/list")) == 4  # the last one comes back empty
    only_rooms = [s async for s in streams.list_streams(types=["room"], limit=3)]
    assert [(s.stream_id, s.stream_type) for s in only_rooms] == [(r, "ROOM") for r in rooms[:3]]
    assert only_rooms[0].room_name == "Room 0"
    with pytest.raises(ValueError, match="unknown stream types"):
        streams.list_streams(types=["CHAT"])
