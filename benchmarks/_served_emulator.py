"""The emulator served on loopback in a process of its own, for `datafeed_throughput`.

`python -m benchmarks._served_emulator '<bot public key PEM>'` starts an `Emulator` serving
on 127.0.0.1 (plain HTTP, and HTTPS with its own CA), registers the bot account "bot" with
that key, prints one JSON line `{"http": url, "https": url, "ca_bundle": path}` and then
answers one JSON command per line of stdin:

- `{"load": {"events": N, "streams": S, "mention": bool, "tag": str | null}}`: deletes the
  bot's datafeeds, creates a fresh one (with `tag`, so that a bot listing its feeds by tag
  reuses it) and queues N MESSAGESENT events in it; answers `{"feed_id": ...}` once every
  event is queued, so a client reading afterwards finds its whole backlog waiting.

It exits when stdin closes. A process of its own means the emulator's work (HTTP parsing,
routing, building read responses) runs on its own interpreter, as an agent would.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import anyio

from benchmarks.datafeed_throughput import BOT, message_events
from symbot.emulator import Emulator


def _answer(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def serve(bot_public_key: bytes) -> None:
    workloads: dict[tuple[int, int, bool], list[str]] = {}
    async with Emulator() as emu:
        emu.add_user(BOT, public_key_pem=bot_public_key)
        _answer({"http": emu.http_url, "https": emu.https_url, "ca_bundle": str(emu.ca_bundle)})
        while line := await anyio.to_thread.run_sync(sys.stdin.readline):
            load = json.loads(line)["load"]
            key = (load["events"], load["streams"], load["mention"])
            if key not in workloads:  # built once (as JSON text), published as often as asked
                events = message_events(emu, *key[:2], mention_bot=key[2])
                workloads[key] = [json.dumps(event) for event in events]
            for feed in emu.feeds(BOT):
                emu.delete_feed(feed.feed_id)
            feed = emu.feed_store.create(BOT, load["tag"])
            for event in workloads[key]:
                emu.feed_store.publish([BOT], event)
            _answer({"feed_id": feed.feed_id})


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    anyio.run(serve, sys.argv[1].encode())
