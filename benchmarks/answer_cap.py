"""A 512 MiB answer to a datafeed read: the peak memory it costs a bot (issue 11, finding 9).

The emulator (in this process, served on loopback HTTPS) answers one read of the bot's feed
with a 512 MiB body, generated chunk by chunk and sent chunked, with no length announced: the
client only learns how large it is by reading it. Three client processes, one after another,
each report their peak RSS (`ru_maxrss`):

- **baseline**: the bot, no fault: it starts, reads, handles one event. What a bot costs.
- **symbot, 512 MiB read**: the same bot; its first read gets the 512 MiB answer, which the
  guard refuses at `limits.max_answer_bytes` (32 MiB), then it handles the event.
- **plain httpx, 512 MiB read**: an httpx client reading the same answer whole, as symbot
  did before: what the answer costs when nothing bounds it.

The figure: symbot's peak over the baseline's, which must stay within the cap plus a small
margin (`MARGIN_MIB`), beside the plain client's. Peak RSS in MiB, all from one run.
`SYMBOT_BENCH_QUICK=1` sends 128 MiB instead.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx
from attrs import evolve

from symbot.auth import RsaJwtAuth
from symbot.bot import Bot, on_message
from symbot.config import DEFAULT_MAX_ANSWER_BYTES, BotConfig, RetryPolicy
from symbot.emulator import Body, Emulator
from symbot.emulator._keys import generate_rsa_key_pair
from symbot.messages import Message

__all__ = ["main"]

QUICK = os.environ.get("SYMBOT_BENCH_QUICK") == "1"
MIB = 1 << 20
HUGE_MIB = 128 if QUICK else 512
MARGIN_MIB = 16
BOT = "cap.bot"
PERSON = "cap.person"
TAG = "answer-cap"
READ = r"/agent/v5/datafeeds/[^/]+/read"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _OneEventBot(Bot):
    """Handles one message, then stops."""

    help_command = None
    handled: str | None = None

    @on_message()
    async def done(self, msg: Message) -> None:
        self.handled = msg.text
        await self.stop(0)


async def _child(mode: str, url: str, ca_bundle: str, key_path: str) -> None:
    """One client process; prints {"peak_rss_mib": ..., "ok": ...} on its last line."""
    logging.basicConfig(level=logging.ERROR)
    if mode == "httpx":
        async with httpx.AsyncClient(verify=ca_bundle, timeout=120) as client:
            response = await client.get(f"{url}/agent/v3/health")
        ok = len(response.content) >= HUGE_MIB * MIB
    else:
        config = BotConfig(
            pod_url=url,
            ca_bundle=Path(ca_bundle),
            auth=RsaJwtAuth(username=BOT, private_key=Path(key_path)),
            retry=RetryPolicy(initial=0.01, maximum=0.1, max_attempts=None),
        )
        bot = _OneEventBot(evolve(config, datafeed=evolve(config.datafeed, tag=TAG)))
        with anyio.fail_after(120):
            await bot.serve()
        ok = bot.handled == "the event after"
    print(json.dumps({"peak_rss_mib": _peak_rss_mib(), "ok": ok}), flush=True)


async def _run_child(mode: str, emu: Emulator, key_path: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.answer_cap", mode, emu.https_url]
    command += [str(emu.ca_bundle), str(key_path)]
    done = await anyio.run_process(command, check=True)
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def _prepare(emu: Emulator, *, huge: bool) -> None:
    """A fresh feed under the bot's tag holding one event; the huge answer first if asked."""
    for feed in emu.feeds(BOT):
        emu.delete_feed(feed.feed_id)
    emu.feed_store.create(BOT, TAG)
    emu.send(PERSON, emu.create_im(BOT, PERSON), "the event after")
    if huge:
        emu.fault(READ, body=Body(repeat=b" ", times=HUGE_MIB * MIB), chunked=True)


async def main() -> None:
    logging.getLogger("symbot").setLevel(logging.ERROR)
    key = generate_rsa_key_pair()
    with tempfile.TemporaryDirectory() as directory:
        key_path = Path(directory, "bot.pem")
        await anyio.Path(key_path).write_bytes(key.private_key_pem)
        async with Emulator(long_poll_timeout=0.3) as emu:
            emu.add_user(BOT, public_key_pem=key.public_key_pem)
            emu.add_user(PERSON, public_key_pem=key.public_key_pem)
            _prepare(emu, huge=False)
            baseline = await _run_child("bot", emu, key_path)
            _prepare(emu, huge=True)
            guarded = await _run_child("bot", emu, key_path)
            huge = Body(repeat=b" ", times=HUGE_MIB * MIB)
            emu.fault("/agent/v3/health", body=huge, chunked=True)
            plain = await _run_child("httpx", emu, key_path)
    cap_mib = DEFAULT_MAX_ANSWER_BYTES / MIB
    over = guarded["peak_rss_mib"] - baseline["peak_rss_mib"]
    print(f"a {HUGE_MIB} MiB answer to a read, chunked; limit {cap_mib:g} MiB (peak RSS, MiB)")
    print(f"  baseline (bot, no fault)        {baseline['peak_rss_mib']:8.0f}")
    print(f"  symbot, {HUGE_MIB} MiB read           {guarded['peak_rss_mib']:8.0f}  (+{over:.0f})")
    print(f"  plain httpx, {HUGE_MIB} MiB read      {plain['peak_rss_mib']:8.0f}")
    verdict = "OK" if over <= cap_mib + MARGIN_MIB and guarded["ok"] else "FAILED"
    print(
        f"symbot's peak over its baseline: {over:.0f} MiB, within the limit + {MARGIN_MIB} MiB "
        f"({cap_mib + MARGIN_MIB:g}): {verdict}; the bot handled the next event: {guarded['ok']}"
    )


if __name__ == "__main__":
    mode, url, ca_bundle, key_path = sys.argv[1:5]
    anyio.run(_child, mode, url, ca_bundle, key_path)
