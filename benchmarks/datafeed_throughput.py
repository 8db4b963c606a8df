"""Datafeed throughput: events/s through the whole bot beside a raw read/ack loop.

Two clients drain the same backlog of MESSAGESENT events (over 20 rooms, the PresentationML
and EntityJSON the emulator builds, plain and with a mention of the bot):

- **raw**: a plain httpx client with the tokens in its headers: read, `json.loads`, send
  the ackId with the next read. Nothing else: the ceiling for any client.
- **symbot**: a `Bot` with one no-op `@on_message` handler (and the built-in `/help`): the
  datafeed loop, typed events, dedupe, own-event check, per-stream grouping, routing
  through the handler registry (command and filter matching), the handler call, the acks.

in three settings:

- **in-process**: the emulator in this process, through httpx's in-process transport. No
  sockets: the ratio compares pure CPU cost per event, the worst case for symbot. Reported,
  without a target: clarity of the event model comes first (docs/performance.md).
- **served, HTTPS**: the emulator in another process on loopback
  (`benchmarks/_served_emulator.py`), over TLS as an agent always is: what a bot sees with
  an agent on the network, minus the network's latency (which only brings the ratio up).
  **The verdict**: symbot must reach at least `TARGET` (0.65) of the raw loop's events/s
  on both workloads.
- **served, plain HTTP**: the same without TLS, whose cost both clients pay. Reported.

Every run reads a feed loaded with the whole backlog before the client's first read, so
publishing is not measured: the clock runs from the first read request to the last event
handled (raw: counted). Runs alternate raw/symbot, and the best of `ROUNDS` counts: other
processes on the machine only ever slow a run down. `SYMBOT_BENCH_QUICK=1` shrinks it all.
"""

from __future__ import annotations

import copy
import gc
import itertools
import json
import logging
import os
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from symbot.auth import RsaJwtAuth, RsaJwtLogin, generate_key_pair
from symbot.bot import Bot, on_message
from symbot.config import BotConfig, BotSettings
from symbot.emulator import Emulator
from symbot.messages import Message
from symbot.transport import Transport

__all__ = ["BOT", "ROOMS_WITHOUT_MENTIONS", "main", "message_events", "publish"]

QUICK = os.environ.get("SYMBOT_BENCH_QUICK") == "1"
EVENTS = 2_000 if QUICK else 20_000
ROUNDS = 1 if QUICK else 7
STREAMS = 20
TARGET = 0.65
"""The least served-HTTPS ratio (symbot events/s over the raw loop's) that passes."""
BOT = "bot"
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
        emu.add_user(sender, public_key_pem=emu.user(BOT).public_key_pem)
    rooms = [emu.create_room(f"bench {n}", [sender, BOT]) for n in range(streams)]
    template = emu.stream_store.v4_message(
        emu.stream_store.send(
            sender, rooms[0], "hello bot 0", mentions=[BOT] if mention_bot else ()
        )
    )
    for feed in emu.feeds(BOT):  # the template's own event is not part of the workload
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


# ---------------------------------------------------------------------------------------------
# Where the emulator runs


class Stage(Protocol):
    """An emulator with the bot account, and a way to give the bot a loaded feed."""

    url: str
    transport: httpx.AsyncBaseTransport | None
    ca_bundle: Path | None
    bot_key: bytes

    async def load(self, *, mention: bool, tag: str | None) -> str:
        """A fresh datafeed of the bot with EVENTS events waiting in it; its id."""
        ...


class InProcess:
    """The emulator in this process; clients reach it through its in-process transport."""

    def __init__(self) -> None:
        self.emulator = Emulator()
        account = self.emulator.add_user(BOT)
        assert account.private_key_pem is not None
        self.bot_key = account.private_key_pem
        self.url = self.emulator.base_url
        self.transport: httpx.AsyncBaseTransport | None = self.emulator.transport()
        self.ca_bundle: Path | None = None
        self._workloads: dict[bool, list[str]] = {}

    async def load(self, *, mention: bool, tag: str | None) -> str:
        emu = self.emulator
        if mention not in self._workloads:  # kept as JSON text, which the GC never scans
            events = message_events(emu, EVENTS, STREAMS, mention_bot=mention)
            self._workloads[mention] = [json.dumps(event) for event in events]
        for feed in emu.feeds(BOT):
            emu.delete_feed(feed.feed_id)
        feed = emu.feed_store.create(BOT, tag)
        for event in self._workloads[mention]:
            emu.feed_store.publish([BOT], event)
        return feed.feed_id


class Served:
    """The emulator in a child process (`benchmarks._served_emulator`), on loopback; `https`
    picks the TLS listener (trusting the emulator's CA) or the plain HTTP one."""

    def __init__(self, process: Process, bot_key: bytes) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self._stdin = process.stdin
        self._stdout = BufferedByteReceiveStream(process.stdout)
        self.bot_key = bot_key
        self._urls: dict[str, str] = {}
        self.url = ""
        self.transport: httpx.AsyncBaseTransport | None = None
        self.ca_bundle: Path | None = None

    @classmethod
    @asynccontextmanager
    async def start(cls) -> AsyncIterator[Served]:
        pair = generate_key_pair(2048)
        public_key = pair.public_key_pem.decode()
        command = [sys.executable, "-m", "benchmarks._served_emulator", public_key]
        async with await anyio.open_process(command) as process:
            served = cls(process, pair.private_key_pem)
            served._urls = await served._answer()
            try:
                yield served
            finally:
                await served._stdin.aclose()
                with anyio.move_on_after(5):
                    await process.wait()
                if process.returncode is None:
                    process.kill()

    def use(self, *, https: bool) -> Served:
        self.url = self._urls["https" if https else "http"]
        self.ca_bundle = Path(self._urls["ca_bundle"]) if https else None
        return self

    async def load(self, *, mention: bool, tag: str | None) -> str:
        command = {"events": EVENTS, "streams": STREAMS, "mention": mention, "tag": tag}
        await self._stdin.send(json.dumps({"load": command}).encode() + b"\n")
        return str((await self._answer())["feed_id"])

    async def _answer(self) -> dict[str, str]:
        with anyio.fail_after(120):
            line = await self._stdout.receive_until(b"\n", 1 << 20)
        answer: dict[str, str] = json.loads(line)
        return answer


# ---------------------------------------------------------------------------------------------
# The two clients


async def raw_loop(stage: Stage, *, mention: bool) -> float:
    """Seconds a bare read/ack/json loop takes to drain a loaded feed."""
    verify = ssl.create_default_context(cafile=stage.ca_bundle) if stage.ca_bundle else True
    provider = RsaJwtLogin(RsaJwtAuth(username=BOT, private_key=stage.bot_key))
    config = BotConfig(pod_url=stage.url, ca_bundle=stage.ca_bundle)
    async with Transport(config, transport=stage.transport) as transport:
        tokens = await provider.login(transport)
    assert tokens.key_manager_token is not None
    headers = {"sessionToken": tokens.session_token, "keyManagerToken": tokens.key_manager_token}
    feed_id = await stage.load(mention=mention, tag=None)
    async with httpx.AsyncClient(
        transport=stage.transport, base_url=stage.url, headers=headers, verify=verify, timeout=60
    ) as client:
        gc.collect()
        start = anyio.current_time()
        seen, ack_id = 0, ""
        while seen < EVENTS:
            response = await client.post(
                f"/agent/v5/datafeeds/{feed_id}/read", json={"ackId": ack_id}
            )
            body = json.loads(response.content)
            seen += len(body["events"])
            ack_id = body["ackId"]
        return anyio.current_time() - start


class NoOpBot(Bot):
    """One no-op message handler; it notes when it has seen `expected` messages. The clock
    starts when the bot's datafeed sends its first read."""

    def __init__(self, config: BotConfig, *, expected: int, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.expected = expected
        self.calls = 0
        self.first_read_at: float | None = None
        self.done = anyio.Event()

    async def on_start(self) -> None:
        hooks = self.client.agent.event_hooks["request"]

        async def first_read(request: httpx.Request) -> None:
            if request.url.path.endswith("/read"):
                self.first_read_at = anyio.current_time()
                hooks.remove(first_read)

        hooks.append(first_read)

    @on_message()
    async def noop(self, msg: Message) -> None:
        self.calls += 1
        if self.calls == self.expected:
            self.done.set()


async def bot_loop(stage: Stage, *, mention: bool) -> float:
    """Seconds a bot with a no-op handler takes to handle a loaded feed."""
    config = BotConfig(
        pod_url=stage.url,
        auth=RsaJwtAuth(username=BOT, private_key=stage.bot_key),
        ca_bundle=stage.ca_bundle,
        bot=ROOMS_WITHOUT_MENTIONS,
    )
    await stage.load(mention=mention, tag=config.datafeed.tag_for(BOT))
    bot = NoOpBot(config, expected=EVENTS, transport=stage.transport)
    gc.collect()
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        await bot.done.wait()
        finished = anyio.current_time()
        await bot.stop()
    assert bot.first_read_at is not None
    assert bot.stats.handler_calls == EVENTS, "the handler must see every event exactly once"
    return finished - bot.first_read_at


# ---------------------------------------------------------------------------------------------
# The run


Client = Callable[..., Awaitable[float]]


async def _compare(stage: Stage, label: str, *, mention: bool) -> float:
    """Alternate raw and symbot runs; print and return the ratio of their best times."""
    best: dict[Client, float] = {}
    for _ in range(ROUNDS):
        for client in (raw_loop, bot_loop):
            seconds = await client(stage, mention=mention)
            best[client] = min(best.get(client, seconds), seconds)
    raw, bot = best[raw_loop], best[bot_loop]
    print(f"  {label:18}{EVENTS / raw:>12,.0f}{EVENTS / bot:>14,.0f}{raw / bot:>8.2f}", flush=True)
    return raw / bot


async def _scenario(stage: Stage, title: str) -> float:
    """Both workloads on `stage`; the worst ratio."""
    print(f"{title}")
    print(f"  {'workload':18}{'raw ev/s':>12}{'symbot ev/s':>14}{'ratio':>8}")
    ratios = [
        await _compare(stage, "plain text", mention=False),
        await _compare(stage, "with a mention", mention=True),
    ]
    return min(ratios)


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(
        f"{EVENTS:,} MESSAGESENT events over {STREAMS} rooms per run, no-op handler, "
        f"best of {ROUNDS} alternating runs"
    )
    title = "(a) in-process emulator: the CPU cost per event (reported, no target)"
    await _scenario(InProcess(), title)
    async with Served.start() as served:
        title = "(b) emulator served on loopback in another process, HTTPS (the verdict)"
        worst = await _scenario(served.use(https=True), title)
        title = "    the same over plain HTTP (reported, no target)"
        await _scenario(served.use(https=False), title)
    verdict = "PASS" if worst >= TARGET else "BELOW TARGET"
    print(f"result: {verdict}: served HTTPS worst ratio {worst:.2f}, target >= {TARGET:.2f}")


if __name__ == "__main__":
    anyio.run(main)
