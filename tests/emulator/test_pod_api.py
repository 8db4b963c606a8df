"""The emulated pod's user, stream, room and suppression endpoints, spoken to in plain HTTP:
answers in the spec's shapes (spec_shapes), refusals with the spec's statuses, and the events
each change puts into the datafeeds."""

from __future__ import annotations

import pytest

from . import spec_shapes as spec
from .support import ALICE, BOT, Pod, assert_refused, ok

pytestmark = pytest.mark.anyio


# --- users ----------------------------------------------------------------------------------


async def test_users_by_id_email_or_username_are_a_v2_user_list(pod: Pod) -> None:
    ids = f"{pod.uid(ALICE)},{pod.uid('bob')},12345,x1"
    body = ok(await pod.call(BOT, "GET", "/pod/v3/users", params={"uid": ids}), spec.V2UserList)
    assert [user["username"] for user in body["users"]] == [ALICE, "bob"]
    assert body["errors"] == [{"error": "invalid.format", "id": "x1"}]
    by_email = await pod.call(BOT, "GET", "/pod/v3/users", params={"email": "BOB@example.com"})
    assert [u["id"] for u in ok(by_email, spec.V2UserList)["users"]] == [pod.uid("bob")]
    by_name = await pod.call(
        BOT, "GET", "/pod/v3/users", params={"username": "carol", "local": "true"}
    )
    assert ok(by_name, spec.V2UserList)["users"][0]["displayName"] == "carol"


async def test_users_lookup_refusals(pod: Pod) -> None:
    nobody = await pod.call(BOT, "GET", "/pod/v3/users", params={"username": "zed"})
    assert (nobody.status_code, nobody.content) == (204, b"")
    both = {"uid": str(pod.uid(ALICE)), "username": ALICE}
    assert_refused(await pod.call(BOT, "GET", "/pod/v3/users", params=both), 400)
    assert_refused(await pod.call(BOT, "GET", "/pod/v3/users"), 400)
    many = ",".join(str(n) for n in range(101))
    assert_refused(await pod.call(BOT, "GET", "/pod/v3/users", params={"uid": many}), 400)
    flag = {"username": ALICE, "local": "maybe"}
    assert_refused(await pod.call(BOT, "GET", "/pod/v3/users", params=flag), 400)
    unauthenticated = await pod.http.get("/pod/v3/users", params={"username": ALICE})
    assert_refused(unauthenticated, 401)


async def test_user_search_pages_and_answers_204_for_no_match(pod: Pod) -> None:
    query = {"query": "B", "filters": {"accountTypes": ["SYSTEM"]}}  # bot and bob
    found = await pod.call(BOT, "POST", "/pod/v1/user/search", params={"limit": 1}, json=query)
    body = ok(found, spec.UserSearchResults)
    assert (body["count"], body["skip"], body["limit"]) == (2, 0, 1)
    assert [user["username"] for user in body["users"]] == [BOT]
    assert body["searchQuery"] == query
    rest = await pod.call(BOT, "POST", "/pod/v1/user/search", params={"skip": 1}, json=query)
    assert [u["username"] for u in ok(rest, spec.UserSearchResults)["users"]] == ["bob"]
    none = await pod.call(BOT, "POST", "/pod/v1/user/search", json={"query": "zzz"})
    assert none.status_code == 204
    assert_refused(await pod.call(BOT, "POST", "/pod/v1/user/search", json={"q": 1}), 400)


# --- IMs and rooms --------------------------------------------------------------------------


async def test_im_create_gives_one_stream_per_set_of_users_and_one_event(pod: Pod) -> None:
    first = ok(await pod.call(BOT, "POST", "/pod/v1/im/create", json=[pod.uid(ALICE)]), spec.Stream)
    again = await pod.call(BOT, "POST", "/pod/v1/im/create", json=[pod.uid(ALICE), pod.uid(BOT)])
    assert ok(again, spec.Stream) == first
    [event] = await pod.events(ALICE)
    assert event["type"] == "INSTANTMESSAGECREATED"
    stream = event["payload"]["instantMessageCreated"]["stream"]
    assert (stream["streamId"], stream["streamType"]) == (first["id"], "IM")
    assert {m["username"] for m in stream["members"]} == {BOT, ALICE}


@pytest.mark.parametrize(
    "body", [[], [12345], ["x"], {"id": 1}, [True]], ids=["empty", "unknown", "str", "obj", "bool"]
)
async def test_im_create_refuses_what_names_nobody(pod: Pod, body: object) -> None:
    assert_refused(await pod.call(BOT, "POST", "/pod/v1/im/create", json=body), 400)


async def test_room_create_info_and_update_are_v3_room_details(pod: Pod) -> None:
    attributes = {"name": "Ops", "description": "d", "keywords": [{"key": "k", "value": "v"}]}
    created = ok(
        await pod.call(BOT, "POST", "/pod/v3/room/create", json=attributes), spec.V3RoomDetail
    )
    room = created["roomSystemInfo"]["id"]
    assert created["roomAttributes"]["keywords"] == [{"key": "k", "value": "v"}]
    assert created["roomSystemInfo"]["createdByUserId"] == pod.uid(BOT)
    info = ok(await pod.call(BOT, "GET", f"/pod/v3/room/{room}/info"), spec.V3RoomDetail)
    assert info == created
    change = {"description": "new", "discoverable": True, "unknownKey": 1}
    updated = ok(
        await pod.call(BOT, "POST", f"/pod/v3/room/{room}/update", json=change), spec.V3RoomDetail
    )
    assert (
        updated["roomAttributes"]["description"],
        updated["roomAttributes"]["discoverable"],
    ) == (
        "new",
        True,
    )
    kinds = [event["type"] for event in await pod.events(BOT)]
    assert kinds == ["ROOMCREATED", "ROOMUPDATED"]
    # discoverable now: alice, not a member, may see it but not change it
    assert ok(await pod.call(ALICE, "GET", f"/pod/v3/room/{room}/info"), spec.V3RoomDetail)
    assert_refused(await pod.call(ALICE, "POST", f"/pod/v3/room/{room}/update", json=change), 403)


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x", "public": "yes"}, {"name": "x", "keywords": ["k"]}, [1]],
    ids=["no-name", "empty-name", "flag", "keywords", "array"],
)
async def test_room_create_refuses_bad_attributes(pod: Pod, body: object) -> None:
    assert_refused(await pod.call(BOT, "POST", "/pod/v3/room/create", json=body), 400)


async def test_rooms_refuse_strangers_and_unknown_ids(pod: Pod) -> None:
    room = pod.emu.create_room("Private", [ALICE, "bob"], owner=ALICE)
    im = pod.emu.create_im(ALICE, BOT)
    for path in (f"/pod/v3/room/{room}/info", f"/pod/v2/room/{room}/membership/list"):
        assert_refused(await pod.call(BOT, "GET", path), 403)
    for path in ("/pod/v3/room/nope/info", f"/pod/v2/room/{im}/membership/list"):
        assert_refused(await pod.call(BOT, "GET", path), 400)
    assert_refused(await pod.call(BOT, "GET", "/pod/v2/streams/nope/info"), 400)


async def test_membership_changes_answer_success_and_tell_the_members(pod: Pod) -> None:
    room = pod.emu.create_room("Ops", [BOT, ALICE], owner=BOT)
    add = await pod.call(
        BOT, "POST", f"/pod/v1/room/{room}/membership/add", json={"id": pod.uid("bob")}
    )
    assert ok(add, spec.SuccessResponse) == {"format": "TEXT", "message": "Member added"}
    listed = ok(
        await pod.call(ALICE, "GET", f"/pod/v2/room/{room}/membership/list"), [spec.MemberInfo]
    )
    assert [(m["id"], m["owner"]) for m in listed] == [
        (pod.uid(BOT), True),
        (pod.uid(ALICE), False),
        (pod.uid("bob"), False),
    ]
    remove = await pod.call(
        BOT, "POST", f"/pod/v1/room/{room}/membership/remove", json={"id": pod.uid(ALICE)}
    )
    assert ok(remove, spec.SuccessResponse)["message"] == "Member removed"
    for username in (ALICE, "bob"):
        kinds = [event["type"] for event in await pod.events(username)]
        assert kinds == ["USERJOINEDROOM", "USERLEFTROOM"]


async def test_membership_refusals(pod: Pod) -> None:
    room = pod.emu.create_room("Ops", [ALICE, BOT], owner=ALICE)
    pod.emu.rooms.update_room(ALICE, room, {"membersCanInvite": False})
    add = f"/pod/v1/room/{room}/membership/add"
    assert_refused(await pod.call(BOT, "POST", add, json={"id": pod.uid("bob")}), 403)
    assert_refused(await pod.call(ALICE, "POST", add, json={"id": 12345}), 400)
    assert_refused(await pod.call(ALICE, "POST", add, json={"id": "bob"}), 400)
    remove = f"/pod/v1/room/{room}/membership/remove"
    assert_refused(await pod.call(BOT, "POST", remove, json={"id": pod.uid(ALICE)}), 403)
    left = await pod.call(BOT, "POST", remove, json={"id": pod.uid(BOT)})  # leaving is allowed
    assert left.status_code == 200


async def test_stream_info_and_list_are_stream_attributes(pod: Pod) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    room = pod.emu.create_room("Ops", [BOT, ALICE])
    pod.emu.create_room("Elsewhere", [ALICE, "bob"])
    pod.emu.send(ALICE, im, "hi")
    info = ok(await pod.call(BOT, "GET", f"/pod/v2/streams/{im}/info"), spec.V2StreamAttributes)
    assert info["streamAttributes"]["members"] == [pod.uid(BOT), pod.uid(ALICE)]
    assert info["lastMessageDate"] == pod.emu.sent_messages()[-1].timestamp
    room_info = ok(
        await pod.call(BOT, "GET", f"/pod/v2/streams/{room}/info"), spec.V2StreamAttributes
    )
    assert room_info["roomAttributes"] == {"name": "Ops"}
    listed = ok(
        await pod.call(BOT, "POST", "/pod/v1/streams/list", json={}), [spec.StreamAttributes]
    )
    assert [s["id"] for s in listed] == [im, room]
    rooms_only = {"streamTypes": [{"type": "ROOM"}]}
    filtered = await pod.call(
        BOT, "POST", "/pod/v1/streams/list", params={"limit": 5}, json=rooms_only
    )
    assert [s["id"] for s in ok(filtered, [spec.StreamAttributes])] == [room]
    no_body = await pod.call(BOT, "POST", "/pod/v1/streams/list", params={"skip": 1})
    assert [s["id"] for s in ok(no_body, [spec.StreamAttributes])] == [room]
    bad = {"streamTypes": "ROOM"}
    assert_refused(await pod.call(BOT, "POST", "/pod/v1/streams/list", json=bad), 400)


# --- suppression ----------------------------------------------------------------------------


async def test_suppression_by_the_sender_or_a_content_manager(pod: Pod) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    mine = pod.emu.send(BOT, im, "mine")["messageId"]
    hers = pod.emu.send(ALICE, im, "hers")["messageId"]
    path = "/pod/v1/admin/messagesuppression/{}/suppress"
    done = ok(await pod.call(BOT, "POST", path.format(mine)), spec.MessageSuppressionResponse)
    assert (done["messageId"], done["suppressed"]) == (mine, True)
    assert done["suppressionDate"] > 0
    again = ok(await pod.call(BOT, "POST", path.format(mine)), spec.MessageSuppressionResponse)
    assert again["suppressionDate"] == 0
    assert_refused(await pod.call(BOT, "POST", path.format(hers)), 403)
    assert_refused(await pod.call(BOT, "POST", path.format("unknown")), 400)
    pod.emu.grant_role(BOT, "CONTENT_MANAGEMENT")
    assert ok(await pod.call(BOT, "POST", path.format(hers)), spec.MessageSuppressionResponse)
    kinds = [event["type"] for event in await pod.events(ALICE)]
    assert kinds.count("MESSAGESUPPRESSED") == 2
