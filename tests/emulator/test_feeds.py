"""Datafeed v5 semantics of the emulated agent: ackIds, re-queue, long-poll, TTL, caps.

Driven over HTTP through the agent routes (in-process), plus the store directly where a test
needs to reach inside a read (cancellation).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from symbot.emulator._directory import UserDirectory
from symbot.emulator._feeds import FeedStore
from symbot.emulator._streams import StreamStore

from .support import GUARD

pytestmark = pytest.mark.anyio


MakeClient = Callable[[FeedStore, StreamStore, str], httpx.AsyncClient]


class Agent:
    """A feed store behind the agent routes, with a client acting as `bot`."""

    def __init__(self, make_client: MakeClient, **options: Any) -> None:
        options.setdefault("long_poll_timeout", 0.0)
        self.feeds = FeedStore(**options)
        self.directory = UserDirectory()
        self.streams = StreamStore(self.directory, self.feeds)
        self.client = make_client(self.feeds, self.streams, "bot")

    async def create(self, tag: str | None = None) -> str:
        response = await self.client.post("/agent/v5/datafeeds", json={"tag": tag})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def read_response(self, feed_id: str, ack_id: str | None) -> httpx.Response:
        with anyio.fail_after(GUARD):
            return await self.client.post(
                f"/agent/v5/datafeeds/{feed_id}/read", json={"ackId": ack_id}
            )

    async def read(self, feed_id: str, ack_id: str | None = None) -> tuple[list[Any], str]:
        response = await self.read_response(feed_id, ack_id)
        assert response.status_code == 200, response.text
        body = response.json()
        return body["events"], body["ackId"]


@pytest.fixture
async def make_agent(agent_client: MakeClient) -> AsyncIterator[Callable[..., Agent]]:
    agents: list[Agent] = []

    def make(**options: Any) -> Agent:
        agents.append(Agent(agent_client, **options))
        return agents[-1]

    yield make
    for agent in agents:
        await agent.client.aclose()


def event(n: int) -> dict[str, Any]:
    return {"id": f"e{n}", "type": "MESSAGESENT", "timestamp": n}


def ids(events: list[Any]) -> list[str]:
    return [e["id"] for e in events]


async def test_feed_is_created_listed_by_tag_and_deleted(make_agent: Callable[..., Agent]) -> None:
    agent = make_agent()
    created = await agent.client.post("/agent/v5/datafeeds", json={"tag": "echo"})
    assert created.status_code == 201
    assert created.json()["type"] == "fanout"
    feed_id = created.json()["id"]
    other = await agent.create()

    by_tag = await agent.client.get("/agent/v5/datafeeds", params={"tag": "echo"})
    assert by_tag.json() == [{"id": feed_id, "type": "fanout"}]
    everything = await agent.client.get("/agent/v5/datafeeds")
    assert {f["id"] for f in everything.json()} == {feed_id, other}

    assert (await agent.client.delete(f"/agent/v5/datafeeds/{feed_id}")).status_code == 204
    assert (await agent.client.get("/agent/v5/datafeeds", params={"tag": "echo"})).json() == []
    gone = await agent.read_response(feed_id, None)
    assert gone.status_code == 400
    assert gone.json()["code"] == 400


async def test_feed_create_without_body_and_malformed_json_is_400(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent()
    assert (await agent.client.post("/agent/v5/datafeeds")).status_code == 201
    bad = await agent.client.post("/agent/v5/datafeeds", content=b"{not json")
    assert bad.status_code == 400
    feed_id = await agent.create()
    bad_read = await agent.client.post(f"/agent/v5/datafeeds/{feed_id}/read", content=b"[1,")
    assert bad_read.status_code == 400
    assert "JSON" in bad_read.json()["message"]


async def test_ack_id_acknowledges_the_batch_it_came_with(make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(visibility_timeout=0.2)
    feed_id = await agent.create()
    agent.feeds.publish(["bot"], event(1))
    agent.feeds.publish(["bot"], event(2))

    events, ack = await agent.read(feed_id)
    assert ids(events) == ["e1", "e2"]
    events, ack = await agent.read(feed_id, ack)
    assert events == []
    await anyio.sleep(0.4)  # past the visibility timeout: acknowledged events stay gone
    events, _ = await agent.read(feed_id, ack)
    assert events == []
    counters = agent.feeds.counters
    assert (counters.events_delivered, counters.events_acked, counters.events_requeued) == (2, 2, 0)


async def test_unacknowledged_batch_is_redelivered_after_visibility_timeout(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(visibility_timeout=0.3, long_poll_timeout=5.0)
    feed_id = await agent.create()
    agent.feeds.publish(["bot"], event(1))

    first, _lost_ack = await agent.read(feed_id)
    # The client restarted and never acknowledged: the long-poll ends with the re-queued event.
    again, ack = await agent.read(feed_id, None)
    assert ids(first) == ids(again) == ["e1"]
    assert agent.feeds.counters.events_requeued == 1
    agent.feeds.long_poll_timeout = 0.0  # nothing more to wait for
    await agent.read(feed_id, ack)
    assert agent.feeds.counters.events_acked == 1


async def test_resending_the_same_ack_id_after_a_failed_read_loses_and_doubles_nothing(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(visibility_timeout=0.3, long_poll_timeout=5.0)
    feed_id = await agent.create()
    agent.feeds.publish(["bot"], event(1))
    first, ack1 = await agent.read(feed_id)
    agent.feeds.publish(["bot"], event(2))
    lost, _ack2 = await agent.read(feed_id, ack1)  # pretend this response never arrived
    assert ids(first) == ["e1"]
    assert ids(lost) == ["e2"]

    retried, ack3 = await agent.read(feed_id, ack1)  # same ackId again: accepted
    assert ids(retried) == ["e2"]  # the lost batch comes back; e1 stays acknowledged
    agent.feeds.long_poll_timeout = 0.0  # nothing more to wait for
    await agent.read(feed_id, ack3)
    counters = agent.feeds.counters
    assert (counters.events_acked, counters.events_requeued) == (2, 1)
    assert agent.feeds.feeds()[0].pending == agent.feeds.feeds()[0].in_flight == 0


async def test_an_ack_id_the_feed_never_issued_is_400(make_agent: Callable[..., Agent]) -> None:
    agent = make_agent()
    feed_id, other_feed = await agent.create(), await agent.create()
    _, foreign_ack = await agent.read(other_feed)
    _, ack = await agent.read(feed_id)
    future_ack = ack[: -len("1")] + "99"
    for bad in ("nonsense", foreign_ack, future_ack):
        response = await agent.read_response(feed_id, bad)
        assert response.status_code == 400, bad
        assert response.json() == {"code": 400, "message": response.json()["message"]}
    response = await agent.client.post(f"/agent/v5/datafeeds/{feed_id}/read", json={"ackId": 7})
    assert response.status_code == 400


async def test_concurrent_readers_of_one_feed_get_each_event_exactly_once(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(long_poll_timeout=5.0, max_batch=3)
    feed_id = await agent.create()
    total = 40
    received: list[str] = []

    async def reader() -> None:
        ack: str | None = None
        while True:
            events, ack = await agent.read(feed_id, ack)
            received.extend(ids(events))
            if len(received) >= total:
                scope.cancel()

    async with anyio.create_task_group() as tg:
        scope = tg.cancel_scope
        for _ in range(3):
            tg.start_soon(reader)
        for n in range(total):
            agent.feeds.publish(["bot"], event(n))
            if n % 7 == 0:
                await anyio.wait_all_tasks_blocked()

    assert sorted(received) == sorted(f"e{n}" for n in range(total))
    assert agent.feeds.counters.events_requeued == 0


async def test_each_reader_of_a_shared_feed_acknowledges_only_its_own_batch(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(max_batch=2, visibility_timeout=0.3, long_poll_timeout=5.0)
    feed_id = await agent.create()
    for n in range(1, 5):
        agent.feeds.publish(["bot"], event(n))

    batch_a, ack_a = await agent.read(feed_id)  # instance A
    batch_b, ack_b = await agent.read(feed_id)  # instance B: the next events, not A's
    assert (ids(batch_a), ids(batch_b)) == (["e1", "e2"], ["e3", "e4"])
    assert ack_a != ack_b

    # A acknowledges its batch; B dies without acknowledging, so B's batch comes back to A.
    redelivered, ack_a = await agent.read(feed_id, ack_a)
    assert ids(redelivered) == ["e3", "e4"]
    agent.feeds.long_poll_timeout = 0.0  # nothing more to wait for
    await agent.read(feed_id, ack_a)
    counters = agent.feeds.counters
    assert (counters.events_acked, counters.events_requeued) == (4, 2)


async def test_feed_not_read_for_its_ttl_expires_and_reading_it_is_400(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(feed_ttl=0.2)
    feed_id = await agent.create()
    agent.feeds.publish(["bot"], event(1))
    await anyio.sleep(0.4)

    response = await agent.read_response(feed_id, None)
    assert response.status_code == 400
    assert "create a new datafeed" in response.json()["message"]
    assert (await agent.client.get("/agent/v5/datafeeds")).json() == []
    assert agent.feeds.counters.events_dropped == 1


async def test_reads_are_refused_with_403_beyond_twenty_feeds(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent()
    feed_ids = [await agent.create("same") for _ in range(21)]
    refused = await agent.read_response(feed_ids[-1], None)
    assert refused.status_code == 403
    assert "delete" in refused.json()["message"]

    await agent.client.delete(f"/agent/v5/datafeeds/{feed_ids[0]}")
    assert (await agent.read_response(feed_ids[-1], None)).status_code == 200


async def test_long_poll_returns_as_soon_as_an_event_arrives(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(long_poll_timeout=60.0)
    feed_id = await agent.create()
    result: list[Any] = []

    async def read() -> None:
        events, _ = await agent.read(feed_id)
        result.extend(events)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        assert result == []  # still waiting
        agent.feeds.publish(["bot"], event(1))
    assert ids(result) == ["e1"]


async def test_long_poll_times_out_with_no_events_and_a_usable_ack_id(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(long_poll_timeout=0.2)
    feed_id = await agent.create()
    events, ack = await agent.read(feed_id)
    assert events == []
    agent.feeds.publish(["bot"], event(1))
    events, _ = await agent.read(feed_id, ack)
    assert ids(events) == ["e1"]


async def test_a_read_cancelled_while_waiting_loses_no_event(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(long_poll_timeout=60.0)
    feed_id = await agent.create()
    with anyio.move_on_after(0.1) as scope:
        await agent.feeds.read("bot", feed_id, None)
    assert scope.cancelled_caught
    agent.feeds.publish(["bot"], event(1))
    batch = await agent.feeds.read("bot", feed_id, None)
    assert [e["id"] for e in batch.decoded()] == ["e1"]
    assert agent.feeds.counters.events_delivered == 1


async def test_a_batch_holds_at_most_max_batch_events(make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(max_batch=3)
    feed_id = await agent.create()
    for n in range(7):
        agent.feeds.publish(["bot"], event(n))
    sizes = []
    ack = None
    for _ in range(3):
        events, ack = await agent.read(feed_id, ack)
        sizes.append(len(events))
    assert sizes == [3, 3, 1]


async def test_a_malformed_raw_event_is_delivered_verbatim(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent()
    feed_id = await agent.create()
    raw = '{"id": "bad", "type": MESSAGESENT, ]'
    agent.feeds.publish(["bot"], event(1))
    agent.feeds.publish(["bot"], raw)
    response = await agent.read_response(feed_id, None)
    assert response.status_code == 200
    assert f'"events":[{json.dumps(event(1))},{raw}]'.encode() in response.content
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_events_reach_every_feed_of_a_user_and_are_dropped_without_one(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent()
    first, second = await agent.create("a"), await agent.create("b")
    agent.feeds.publish(["bot", "nobody"], event(1))
    assert ids((await agent.read(first))[0]) == ids((await agent.read(second))[0]) == ["e1"]
    assert agent.feeds.counters.events_dropped == 1  # "nobody" has no feed


async def test_deleting_a_feed_ends_its_waiting_reads_with_400_and_drops_its_events(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(long_poll_timeout=60.0)
    feed_id = await agent.create()
    statuses: list[int] = []

    async def read() -> None:
        statuses.append((await agent.read_response(feed_id, None)).status_code)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        agent.feeds.delete(feed_id)
    assert statuses == [400]
    assert agent.feeds.feeds() == []


async def test_a_user_cannot_read_or_delete_another_users_feed(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent()
    theirs = agent.feeds.create("alice").feed_id
    assert (await agent.read_response(theirs, None)).status_code == 400
    assert (await agent.client.delete(f"/agent/v5/datafeeds/{theirs}")).status_code == 400
    assert [info.feed_id for info in agent.feeds.feeds("alice")] == [theirs]


async def test_an_ack_that_comes_after_the_visibility_timeout_is_too_late(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(visibility_timeout=0.2)
    feed_id = await agent.create()
    agent.feeds.publish(["bot"], event(1))

    first, late_ack = await agent.read(feed_id)
    await anyio.sleep(0.3)  # let the visibility timeout pass, as a slow handler would
    again, _ = await agent.read(feed_id, late_ack)

    assert ids(first) == ids(again) == ["e1"]  # re-queued, as a timer-driven agent does
    assert agent.feeds.counters.events_requeued == 1
    assert agent.feeds.counters.events_acked == 0


async def test_the_read_waiting_longest_takes_the_next_batch(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(long_poll_timeout=60.0, max_batch=1)
    feed_id = await agent.create()
    waiting: list[str] = []

    async def first_reader() -> None:
        batch = await agent.feeds.read("bot", feed_id, None)
        waiting.extend(ids(batch.decoded()))

    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(first_reader)
            await anyio.wait_all_tasks_blocked()
            agent.feeds.publish(["bot"], event(1))
            agent.feeds.publish(["bot"], event(2))
            # A second read arriving now, with events pending, must not jump the queue.
            latecomer = await agent.feeds.read("bot", feed_id, None)

    assert waiting == ["e1"]
    assert ids(latecomer.decoded()) == ["e2"]
