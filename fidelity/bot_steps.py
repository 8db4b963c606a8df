"""The bot's steps: what the official BDK does against the emulator as a bot ("rsa", and the
certificate logins), in order. See fidelity/steps.py for how a step is written."""

from __future__ import annotations

import base64
from typing import Any

from fidelity.harness import BOT, PERSON, KnownDefect, Run, Step, model, registrar
from symbot.emulator._auth_routes import (
    CERTIFICATE_LOGIN_NOTICE,
    KM_CERT_LOGIN,
    KM_LOGIN,
    POD_LOGIN,
    SESSION_CERT_LOGIN,
)

__all__ = ["LIST_STREAMS", "SEND", "STEPS", "nested"]

STEPS: list[Step] = []
step = registrar(STEPS)

FEEDS = "/agent/v5/datafeeds"
SESSION_INFO = "GET /pod/v2/sessioninfo"
STREAM_INFO = "GET /pod/v2/streams/{sid}/info"
SEND = "POST /agent/v4/stream/{stream_id}/message/create"
LIST_STREAMS = "POST /pod/v1/streams/list"


@step("RSA login: pod and key manager", f"POST {POD_LOGIN}", f"POST {KM_LOGIN}")
async def rsa_login(run: Run) -> None:
    await run.open("rsa", run.settings(run.strict))
    await run.call("rsa", "bot_session.refresh")
    logins = run.strict.counters.logins
    run.expect(
        (logins[POD_LOGIN], logins[KM_LOGIN]) == (1, 1),
        f"expected one pod and one key manager login, counted {dict(logins)}",
    )


@step("session info", SESSION_INFO)
async def session_info(run: Run) -> None:
    user = await run.call("rsa", "sessions.get_session")
    expected = (BOT, run.strict.user(BOT).user_id)
    run.expect(
        (user.get("username"), user.get("id")) == expected,
        f"session info said {user!r}, expected username and id {expected}",
    )


@step("agent health", "GET /agent/v3/health")
async def health(run: Run) -> None:
    answer = await run.call("rsa", "health.health_check")
    run.expect(answer.get("status") == "UP", f"health answered {answer!r}")


@step(
    "datafeed: list, create, read, acknowledge",
    f"GET {FEEDS}",
    f"POST {FEEDS}",
    f"POST {FEEDS}/{{feed_id}}/read",
)
async def datafeed(run: Run) -> None:
    await run.listen("rsa", run.strict)
    sent = [run.strict.send(PERSON, run.im, "hello, BDK")]
    await run.events("rsa", 1)
    sent.append(run.strict.send(PERSON, run.im, "and again"))
    events = await run.events("rsa", 2)
    for event, message in zip(events, sent, strict=True):
        received = event.get("payload", {}).get("messageSent", {}).get("message", {})
        run.expect(
            event.get("type") == "MESSAGESENT"
            and received.get("messageId") == message["messageId"],
            f"expected MESSAGESENT of {message['messageId']}, the BDK read {event!r}",
        )
        run.expect(
            received.get("stream", {}).get("streamId") == run.im
            and event.get("initiator", {}).get("user", {}).get("username") == PERSON,
            f"the event's stream or initiator is wrong: {event!r}",
        )
    run.expect(
        run.strict.counters.events_acked >= 1,
        "the BDK's next read did not acknowledge the first batch",
    )


@step("send a message", SEND)
async def send_message(run: Run) -> None:
    answer = await run.call(
        "rsa", "messages.send_message", run.im, "<messageML>Hello <b>alice</b></messageML>"
    )
    stored = run.strict.sent_messages()[-1]
    run.expect(
        (stored.sender, stored.stream_id, stored.text) == (BOT, run.im, "Hello alice"),
        f"the emulator stored {stored!r}",
    )
    run.expect(
        answer.get("messageId") == stored.message_id,
        f"the answer names message {answer.get('messageId')!r}, stored {stored.message_id!r}",
    )


ROOM_ATTRIBUTES = "pod_model.v3_room_attributes.V3RoomAttributes"


@step("users: look up by id and by username", "GET /pod/v3/users")
async def users_lookup(run: Run) -> None:
    alice = run.strict.user(PERSON).user_id
    by_id = await run.call("rsa", "users.list_users_by_ids", [alice])
    by_name = await run.call("rsa", "users.list_users_by_usernames", [PERSON])
    for answer in (by_id, by_name):
        found = [(user.get("username"), user.get("id")) for user in answer.get("users") or []]
        run.expect(found == [(PERSON, alice)], f"the lookup answered {answer!r}")


@step("users: search", "POST /pod/v1/user/search")
async def users_search(run: Run) -> None:
    query = model("pod_model.user_search_query.UserSearchQuery", query="Alice")
    answer = await run.call("rsa", "users.search_users", query)
    found = [user.get("username") for user in answer.get("users") or []]
    run.expect(PERSON in found, f"searching 'Alice' found {found}")


@step("streams: create an IM, read a stream's info", "POST /pod/v1/im/create", STREAM_INFO)
async def create_im(run: Run) -> None:
    stream = await run.call("rsa", "streams.create_im", run.strict.user(PERSON).user_id)
    members = set(run.strict.stream_store.stream(stream.get("id", "")).members)
    run.expect(members == {BOT, PERSON}, f"the IM created has members {members}: {stream!r}")
    info = await run.call("rsa", "streams.get_stream", stream["id"])
    run.expect(
        (info.get("id"), nested(info, "streamType", "type")) == (stream["id"], "IM"),
        f"the stream's info is {info!r}",
    )


@step(
    "rooms: create, read, update",
    "POST /pod/v3/room/create",
    "GET /pod/v3/room/{id}/info",
    "POST /pod/v3/room/{id}/update",
)
async def rooms(run: Run) -> None:
    attributes = model(ROOM_ATTRIBUTES, name="Fidelity", description="made by the BDK")
    created = await run.call("rsa", "streams.create_room", attributes)
    room = nested(created, "roomSystemInfo", "id")
    run.expect(isinstance(room, str), f"the room created has no id: {created!r}")
    run.places["room"] = room
    info = await run.call("rsa", "streams.get_room_info", room)
    run.expect(nested(info, "roomAttributes", "name") == "Fidelity", f"room info: {info!r}")
    change = model(ROOM_ATTRIBUTES, description="updated by the BDK")
    updated = await run.call("rsa", "streams.update_room", room, change)
    description = nested(updated, "roomAttributes", "description")
    run.expect(description == "updated by the BDK", f"the room after its update: {updated!r}")


@step(
    "room members: add, list, remove",
    "POST /pod/v1/room/{id}/membership/add",
    "GET /pod/v2/room/{id}/membership/list",
    "POST /pod/v1/room/{id}/membership/remove",
)
async def room_members(run: Run) -> None:
    room, alice = run.places["room"], run.strict.user(PERSON).user_id
    await run.call("rsa", "streams.add_member_to_room", alice, room)
    members = [
        member.get("id") for member in await run.call("rsa", "streams.list_room_members", room)
    ]
    run.expect(alice in members, f"alice is not among the members {members}")
    await run.call("rsa", "streams.remove_member_from_room", alice, room)
    members = [
        member.get("id") for member in await run.call("rsa", "streams.list_room_members", room)
    ]
    run.expect(alice not in members, f"alice is still among the members {members}")


@step("streams: list the bot's rooms", LIST_STREAMS)
async def list_streams(run: Run) -> None:
    rooms_only = model("pod_model.stream_filter.StreamFilter", streamTypes=[{"type": "ROOM"}])
    streams = await run.call("rsa", "streams.list_streams", rooms_only)
    ids = [stream.get("id") for stream in streams]
    run.expect(run.places["room"] in ids and run.im not in ids, f"the rooms listed are {ids}")


@step(
    "messages: read one, list a stream's",
    "GET /agent/v1/message/{id}",
    "GET /agent/v4/stream/{sid}/message",
)
async def read_messages(run: Run) -> None:
    sent = run.strict.send(PERSON, run.im, "for the history")
    one = await run.call("rsa", "messages.get_message", sent["messageId"])
    run.expect(one.get("messageId") == sent["messageId"], f"get_message answered {one!r}")
    listed = [message.get("messageId") for message in await run.call(
        "rsa", "messages.list_messages", run.im, 0
    )]  # fmt: skip
    run.expect(sent["messageId"] in listed, f"the IM's history lists {listed}")


@step("messages: update", "POST /agent/v4/stream/{sid}/message/{mid}/update")
async def update_message(run: Run) -> None:
    draft = await run.call("rsa", "messages.send_message", run.im, "<messageML>draft</messageML>")
    await run.call(
        "rsa", "messages.update_message", run.im, draft["messageId"],
        "<messageML>final</messageML>",
    )  # fmt: skip
    stored = run.strict.sent_messages()[-1]
    run.expect(
        (stored.text, stored.replacing) == ("final", draft["messageId"]),
        f"the emulator stored {stored!r}",
    )


@step("messages: download an attachment", "GET /agent/v1/stream/{sid}/attachment")
async def attachment(run: Run) -> None:
    sent = run.strict.send(PERSON, run.im, "a file", attachments=[("notes.txt", b"fidelity")])
    attachment_id = sent["attachments"][0]["id"]
    body = await run.call(
        "rsa", "messages.get_attachment", run.im, sent["messageId"], attachment_id
    )
    if isinstance(body, dict):  # bytes, passed on as {"$base64": ...}
        body = base64.b64decode(body["$base64"])
    content = base64.b64decode(body)
    run.expect(content == b"fidelity", f"the attachment downloaded is {content!r}")


@step("messages: suppress", "POST /pod/v1/admin/messagesuppression/{id}/suppress")
async def suppress(run: Run) -> None:
    # The bot's own message: others' need the Content Management role, as on a pod.
    sent = await run.call("rsa", "messages.send_message", run.im, "<messageML>oops</messageML>")
    answer = await run.call("rsa", "messages.suppress_message", sent["messageId"])
    run.expect(
        (answer.get("messageId"), answer.get("suppressed")) == (sent["messageId"], True),
        f"suppression answered {answer!r}",
    )


def nested(value: Any, *keys: str) -> Any:
    """value[k1][k2]..., or None where a level is missing or not an object."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


EMPTY_204 = KnownDefect(
    "validation error for V2Error",
    "symphony-bdk-python's generated client expects a V2Error body on 204 No Content (the "
    "spec lists one), which HTTP forbids; it raises on every successful datafeed delete",
)


@step("datafeed: stop, then delete", f"DELETE {FEEDS}/{{feed_id}}")
async def delete_datafeed(run: Run) -> None:
    await run.unlisten("rsa")
    (feed,) = run.strict.feeds(BOT)
    await run.api(
        "rsa", "agent_api.datafeed_api.DatafeedApi", "agent", "delete_datafeed",
        despite=EMPTY_204, datafeed_id=feed.feed_id,
    )  # fmt: skip
    run.expect(not run.strict.feeds(BOT), f"the feed is still listed: {run.strict.feeds(BOT)}")


@step("re-login after a revocation", f"POST {POD_LOGIN}", f"POST {KM_LOGIN}", SESSION_INFO)
async def relogin(run: Run) -> None:
    counters = run.strict.counters
    logins, refused = counters.logins[POD_LOGIN], counters.unauthorized
    run.strict.revoke_tokens(BOT)
    user = await run.call("rsa", "sessions.get_session")
    run.expect(user.get("username") == BOT, f"session info after re-login said {user!r}")
    run.expect(counters.unauthorized > refused, "the revoked token was not refused (no 401)")
    run.expect(
        counters.logins[POD_LOGIN] == logins + 1,
        f"expected one new pod login, counted {counters.logins[POD_LOGIN] - logins}",
        side="BDK",
    )


@step("certificate login refused: the BDK sends a Content-Type", f"POST {SESSION_CERT_LOGIN}")
async def certificate_login_refused(run: Run) -> None:
    await run.open("certificate", run.settings(run.strict, certificate=True))
    refusal = await run.refused("certificate", "bot_session.refresh")
    body = refusal.get("body") or ""
    run.expect(
        refusal.get("status") == 401
        and "Content-Type" in body
        and CERTIFICATE_LOGIN_NOTICE in body,
        f"expected 401 citing Symphony's notice, got {refusal.get('status')}: {body}",
    )


@step(
    "certificate login accepted in lenient mode",
    f"POST {SESSION_CERT_LOGIN}",
    f"POST {KM_CERT_LOGIN}",
    SESSION_INFO,
    on="lenient",
)
async def certificate_login_lenient(run: Run) -> None:
    await run.open("lenient", run.settings(run.lenient, certificate=True))
    await run.call("lenient", "bot_session.refresh")
    user = await run.call("lenient", "sessions.get_session")
    run.expect(user.get("username") == BOT, f"session info said {user!r}")
    logins = run.lenient.counters.logins
    run.expect(
        (logins[SESSION_CERT_LOGIN], logins[KM_CERT_LOGIN]) == (1, 1),
        f"expected one session auth and one key manager login, counted {dict(logins)}",
    )
