"""Streams and messages of the emulated pod: MessageML in, PresentationML and events out."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from symbot.emulator._directory import UserDirectory
from symbot.emulator._feeds import AgentApiError, FeedStore
from symbot.emulator._streams import StreamStore

from .support import GUARD

pytestmark = pytest.mark.anyio

PRESENTATION_OPEN = '<div data-format="PresentationML" data-version="2.0">'

MakeClient = Callable[[FeedStore, StreamStore, str], httpx.AsyncClient]


class Pod:
    """Users bot, alice, bob (in a room) and carol (outside it), each with a datafeed."""

    def __init__(self) -> None:
        self.directory = UserDirectory()
        for username, display in [
            ("bot", "Echo Bot"),
            ("alice", "Alice Smith"),
            ("bob", "Bob Jones"),
            ("carol", "Carol King"),
        ]:
            self.directory.add(username, display_name=display)
        self.feeds = FeedStore(long_poll_timeout=0.0)
        self.streams = StreamStore(self.directory, self.feeds)
        self.room = self.streams.create_room("Ops", ["alice", "bob", "bot"], owner="alice")
        self.feed_ids = {
            user.username: self.feeds.create(user.username).feed_id for user in self.directory
        }

    def user_id(self, username: str) -> int:
        return self.directory.get(username).user_id

    async def events_of(self, username: str) -> list[dict[str, Any]]:
        with anyio.fail_after(GUARD):
            batch = await self.feeds.read(username, self.feed_ids[username], None)
        return batch.decoded()


@pytest.fixture
def pod() -> Pod:
    return Pod()


@pytest.fixture
async def alice_client(pod: Pod, agent_client: MakeClient) -> AsyncIterator[httpx.AsyncClient]:
    async with agent_client(pod.feeds, pod.streams, "alice") as client:
        yield client


async def post_message(
    client: httpx.AsyncClient, stream_id: str, message: str | None, data: str | None = None
) -> httpx.Response:
    fields = {name: value for name, value in [("message", message), ("data", data)] if value}
    files = {"attachment": ("note.txt", b"ignored", "text/plain")}
    with anyio.fail_after(GUARD):
        return await client.post(
            f"/agent/v4/stream/{stream_id}/message/create", data=fields, files=files
        )


def mention_entity(user_id: int) -> dict[str, Any]:
    return {
        "type": "com.symphony.user.mention",
        "version": "1.0",
        "id": [{"type": "com.symphony.user.userId", "value": user_id}],
    }


async def test_message_sent_reaches_every_member_including_the_sender(
    pod: Pod, alice_client: httpx.AsyncClient
) -> None:
    response = await post_message(
        alice_client, pod.room, "<messageML>Hello <b>team</b></messageML>"
    )
    assert response.status_code == 200, response.text
    message = response.json()
    assert message["message"] == f"{PRESENTATION_OPEN}Hello <b>team</b></div>"
    assert message["stream"] == {"streamId": pod.room, "streamType": "ROOM", "roomName": "Ops"}
    assert message["user"]["userId"] == pod.user_id("alice")

    for member in ("alice", "bob", "bot"):
        (event,) = await pod.events_of(member)
        assert event["type"] == "MESSAGESENT"
        assert event["messageId"] == message["messageId"]
        assert event["initiator"]["user"]["username"] == "alice"
        assert event["payload"]["messageSent"]["message"] == message
    assert await pod.events_of("carol") == []


async def test_mentions_render_as_entity_spans_with_entity_json(pod: Pod) -> None:
    sent = pod.streams.send("alice", pod.room, "/echo hi", mentions=["bot"])
    assert sent.presentation_ml == (
        f'{PRESENTATION_OPEN}<span class="entity" data-entity-id="0">@Echo Bot</span>'
        " /echo hi</div>"
    )
    assert sent.data is not None
    assert json.loads(sent.data) == {"0": mention_entity(pod.user_id("bot"))}
    assert sent.text == "@Echo Bot /echo hi"
    (event,) = await pod.events_of("bot")
    assert event["payload"]["messageSent"]["message"]["data"] == sent.data


async def test_mention_tags_in_message_ml_merge_with_the_senders_entity_json(
    pod: Pod, alice_client: httpx.AsyncClient
) -> None:
    own_data = json.dumps({"0": {"type": "org.example.ticket", "version": "1.0", "id": 7}})
    message_ml = f'<messageML>Ping <mention uid="{pod.user_id("bob")}"/> now</messageML>'
    response = await post_message(alice_client, pod.room, message_ml, own_data)
    assert response.status_code == 200, response.text
    message = response.json()
    assert '<span class="entity" data-entity-id="1">@Bob Jones</span> now' in message["message"]
    assert json.loads(message["data"]) == {
        "0": {"type": "org.example.ticket", "version": "1.0", "id": 7},
        "1": mention_entity(pod.user_id("bob")),
    }


async def test_hostile_text_is_escaped_and_stays_text(pod: Pod) -> None:
    hostile = '</div><script>alert("x")</script> & <mention uid="1"/>'
    sent = pod.streams.send("alice", pod.room, hostile)
    root = ET.fromstring(sent.presentation_ml)  # noqa: S314 - the emulator's own output
    assert [child.tag for child in root] == []
    assert root.text == hostile
    assert sent.text == hostile
    assert "<script>" not in sent.presentation_ml


@pytest.mark.parametrize(
    ("message_ml", "complaint"),
    [
        ("<messageML>unclosed", "well-formed"),
        ("<div>not messageML</div>", "rooted in <messageML>"),
        (
            '<!DOCTYPE m [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            "<messageML>&b;</messageML>",
            "DOCTYPE",
        ),
        ('<messageML>hi <mention uid="1"/></messageML>', "names no user"),
        ("<messageML>  </messageML>", "empty"),
    ],
)
async def test_invalid_message_ml_is_refused_with_400(
    pod: Pod, alice_client: httpx.AsyncClient, message_ml: str, complaint: str
) -> None:
    response = await post_message(alice_client, pod.room, message_ml)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400
    assert complaint in body["message"]
    assert pod.streams.sent_messages() == []
    assert await pod.events_of("bob") == []


async def test_message_create_needs_a_multipart_body_with_a_message_field(
    pod: Pod, alice_client: httpx.AsyncClient
) -> None:
    missing = await post_message(alice_client, pod.room, None, data="{}")
    assert missing.status_code == 400
    assert "'message'" in missing.json()["message"]
    as_json = await alice_client.post(
        f"/agent/v4/stream/{pod.room}/message/create", json={"message": "<messageML>x</messageML>"}
    )
    assert as_json.status_code == 400
    assert "multipart/form-data" in as_json.json()["message"]
    bad_data = await post_message(alice_client, pod.room, "<messageML>x</messageML>", "[1, 2]")
    assert bad_data.status_code == 400


async def test_only_members_can_post_and_unknown_streams_are_refused(
    pod: Pod, agent_client: MakeClient
) -> None:
    async with agent_client(pod.feeds, pod.streams, "carol") as carol:
        outsider = await post_message(carol, pod.room, "<messageML>let me in</messageML>")
        assert outsider.status_code == 403
        unknown = await post_message(carol, "no-such-stream", "<messageML>hello</messageML>")
        assert unknown.status_code == 400
    assert pod.streams.sent_messages() == []


async def test_an_im_is_one_stream_per_pair_and_typed_im(pod: Pod) -> None:
    im = pod.streams.create_im("alice", "bot")
    assert pod.streams.create_im("bot", "alice") == im
    assert pod.streams.members(im) == ("alice", "bot")
    pod.streams.send("alice", im, "hi")
    (event,) = await pod.events_of("bot")
    assert event["payload"]["messageSent"]["message"]["stream"] == {
        "streamId": im,
        "streamType": "IM",
    }
    assert await pod.events_of("bob") == []


async def test_joining_and_leaving_a_room_publish_events_and_change_membership(pod: Pod) -> None:
    joined = pod.streams.room_event("USERJOINEDROOM", pod.room, "alice", affected_user="carol")
    assert joined["payload"]["userJoinedRoom"]["affectedUser"]["username"] == "carol"
    assert [e["type"] for e in await pod.events_of("carol")] == ["USERJOINEDROOM"]
    pod.streams.send("carol", pod.room, "thanks")

    pod.streams.room_event("USERLEFTROOM", pod.room, "carol", affected_user="carol")
    carol_events = await pod.events_of("carol")
    assert [e["type"] for e in carol_events] == ["MESSAGESENT", "USERLEFTROOM"]
    assert not pod.streams.is_member("carol", pod.room)
    with pytest.raises(AgentApiError) as refused:
        pod.streams.send("carol", pod.room, "again")
    assert refused.value.status == 403


async def test_sent_messages_record_what_was_sent(pod: Pod) -> None:
    first = pod.streams.send("alice", pod.room, "one")
    second = pod.streams.send("bob", pod.room, message_ml="<messageML><i>two</i></messageML>")
    assert pod.streams.sent_messages() == [first, second]
    assert (second.sender, second.stream_id, second.text) == ("bob", pod.room, "two")
    assert second.message_ml == "<messageML><i>two</i></messageML>"
    assert first.message_id != second.message_id
    assert first.data is None
