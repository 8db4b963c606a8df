"""Datafeed throughput: events/s through the whole bot beside a raw read/ack loop.

Both read the same events (MESSAGESENT over 20 streams, the PresentationML and EntityJSON
the emulator builds, plain and with a mention of the bot) from the same in-process
emulator, in the same run, best of `ROUNDS`:

- **raw**: a plain httpx client with the tokens in its headers: read, `json.loads`, send
  the ackId with the next read. Nothing else: the ceiling for any client.
- **symbot**: a `Bot` with one no-op `@on_message` handler: the datafeed loop, event
  parsing into typed `Message`s (PresentationML → text, EntityJSON mentions), dedupe,
  per-stream grouping, the handler registry and the ack protocol.

Target: symbot at least 0.8 of raw. A third line stubs event parsing out, which shows how
much of the gap is parsing (symbot.events / symbot.messages) and how much the rest.
Everything runs on one CPU in one process, emulator included, so the ratios compare CPU
costs per event. `SYMBOT_BENCH_QUICK=1` shrinks the run.
"""

from __future__ import annotations

import copy
import gc
import itertools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from symbot.auth import RsaJwtAuth
from symbot.bot import Bot
from symbot.config import BotSettings
from symbot.emulator import Emulator
from symbot.events import Event
from symbot.handlers import on_message
from symbot.messages import Message
from symbot.testing import in_process_config

__all__ = ["ROOMS_WITHOUT_MENTIONS", "main", "message_events", "publish"]

QUICK = os.environ.get("SYMBOT_BENCH_QUICK") == "1"
EVENTS = 2_000 if QUICK else 20_000
ROUNDS = 1 if QUICK else 3
STREAMS = 20
ROOMS_WITHOUT_MENTIONS = BotSettings(mention_required_in_rooms=False)  # handlers see every event
_ids = itertools.count()


def message_events(
    emu: Emulator,
    count: int,
    streams: int,
    *,
    sender: str = "alice",
    mention_bot: bool = False,
) -> list[dict[str, Any]]:
    """`count` MESSAGESENT events from `sender`, round-robin over `streams` rooms, each
    carrying its sequence number in the stream as its last word (for order checks). Built
    from one real message of the emulator, so the payload is what a pod sends."""
    if sender not in {user.username for user in emu.directory}:
        emu.add_user(sender, public_key_pem=emu.user("bot").public_key_pem)
    rooms = [emu.create_room(f"bench {n}", [sender, "bot"]) for n in range(streams)]
    template = emu.stream_store.v4_message(
        emu.stream_store.send(
            sender, rooms[0], "hello bot 0", mentions=["bot"] if mention_bot else ()
        )
    )
    for feed in emu.feeds("bot"):  # the template's own event is not part of the workload
        emu.feed_store.delete(feed.feed_id)
    events = []
    for n in range(count):
        stream_index, seq = n % streams, n // streams
        message = copy.deepcopy(template)
        message["messageId"] = f"bench-msg-{next(_ids)}"
        message["stream"]["streamId"] = rooms[stream_index]
        message["message"] = message["message"].replace(" 0</div>", f" {seq}</div>")
        events.append(
            {
                "id": f"bench-evt-{next(_ids)}",
                "messageId": message["messageId"],
                "timestamp": message["timestamp"],
                "type": "MESSAGESENT",
                "initiator": {"user": message["user"]},
                "payload": {"messageSent": {"message": message}},
            }
        )
    return events


def publish(emu: Emulator, events: list[dict[str, Any]], username: str) -> None:
    """Put `events` into the live feeds of `username`, pre-serialised, at once."""
    for event in events:
        emu.feed_store.publish([username], event)


class NoOpBot(Bot):
    @on_message()
    async def noop(self, msg: Message) -> None:
        pass


async def raw_loop(emu: Emulator, events: list[dict[str, Any]]) -> float:
    """Seconds a bare read/ack/json loop takes to drain `events` from a fresh feed."""
    account = emu.user("bot")
    assert account.private_key_pem is not None
    provider = RsaJwtAuth(username="bot", private_key=account.private_key_pem).bind_urls(
        pod_url=emu.base_url, transport=emu.transport()
    )
    tokens = await provider.login()
    await provider.aclose()
    headers = {"sessionToken": tokens.session_token, "keyManagerToken": tokens.key_manager_token}
    async with httpx.AsyncClient(
        transport=emu.transport(), base_url=emu.base_url, headers=headers, timeout=60
    ) as client:
        created = await client.post("/agent/v5/datafeeds", json={"tag": "raw"})
        feed_id = created.json()["id"]
        gc.collect()
        publish(emu, events, "bot")
        start = anyio.current_time()
        seen, ack_id = 0, ""
        while seen < len(events):
            response = await client.post(
                f"/agent/v5/datafeeds/{feed_id}/read", json={"ackId": ack_id}
            )
            body = json.loads(response.content)
            seen += len(body["events"])
            ack_id = body["ackId"]
        elapsed = anyio.current_time() - start
        await client.post(f"/agent/v5/datafeeds/{feed_id}/read", json={"ackId": ack_id})
        await client.delete(f"/agent/v5/datafeeds/{feed_id}")
    return elapsed


async def bot_loop(
    emu: Emulator, events: list[dict[str, Any]], *, stub_parser: bool = False
) -> float:
    """Seconds a served bot with a no-op handler takes to handle `events`. `stub_parser`
    replaces event parsing with a minimal `Event`, to see what the rest costs."""
    bot = NoOpBot(
        in_process_config(emu, "bot", bot=ROOMS_WITHOUT_MENTIONS), transport=emu.transport()
    )
    if stub_parser:
        bot.dispatcher.parse = lambda raw: Event(id=str(raw["id"]), type="X", timestamp=0)
        bot.registry.on_event("X")(_noop_event)
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        await bot.started.wait()
        gc.collect()
        publish(emu, events, "bot")
        start = anyio.current_time()
        while bot.stats.events_handled < len(events):  # noqa: ASYNC110 - measuring, not waiting
            await anyio.sleep(0.001)
        elapsed = anyio.current_time() - start
        await bot.stop()
    assert bot.stats.handler_calls == len(events), "the handler must see every event"
    for feed in emu.feeds("bot"):
        emu.delete_feed(feed.feed_id)
    return elapsed


async def _noop_event(event: Event) -> None:
    pass


async def _best(runs: int, measure: Callable[[], Awaitable[float]]) -> float:
    return min([await measure() for _ in range(runs)])


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    emu = Emulator()
    emu.add_user("bot")
    print(
        f"{EVENTS} MESSAGESENT events over {STREAMS} streams, in-process emulator, best of {ROUNDS}"
    )
    print(f"{'workload':16}{'raw ev/s':>12}{'symbot ev/s':>14}{'ratio':>8}   target >= 0.80")
    ratios = []
    for label, mention in (("plain text", False), ("with a mention", True)):

        def events(mention: bool = mention) -> list[dict[str, Any]]:
            return message_events(emu, EVENTS, STREAMS, mention_bot=mention)

        raw = await _best(ROUNDS, lambda: raw_loop(emu, events()))
        bot = await _best(ROUNDS, lambda: bot_loop(emu, events()))
        ratios.append(raw / bot)
        print(f"{label:16}{EVENTS / raw:>12,.0f}{EVENTS / bot:>14,.0f}{raw / bot:>8.2f}")
    stubbed = await _best(ROUNDS, lambda: bot_loop(emu, events(), stub_parser=True))
    print(
        f"{'parser stubbed':16}{'':>12}{EVENTS / stubbed:>14,.0f}{raw / stubbed:>8.2f}"
        "   (the loop, dedupe, dispatch, registry and acks without event parsing)"
    )
    verdict = "PASS" if min(ratios) >= 0.8 else "BELOW TARGET"
    print(f"result: {verdict} (worst ratio {min(ratios):.2f})")


if __name__ == "__main__":
    anyio.run(main)
