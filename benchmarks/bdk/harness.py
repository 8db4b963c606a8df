"""Runs one workload of one client process against the served emulator, and measures it.

The harness owns the emulator (in this process, on loopback HTTPS with its CA) and plays the
pod's part: it creates a fresh bot account per run (so no run inherits another's feed or
tokens), sends the events as a user of the pod, revokes tokens for the 401 storm, and tells
the client when to fire or stop (see protocol.py for the conversation). The client is a
separate process for every run, so its start-up time and peak memory are its own.

What a run measures:
- storm: pod + KM logins the emulator served after the revocation, and the wall time of
  the `calls` concurrent calls;
- every datafeed run: cold start, from spawning the process to the warm-up event handled
  (the warm-up is sent the moment the client's first feed exists, then every second);
- throughput / ordered: wall time from the first workload event sent to the last handled;
- stop: the client's own measure from `stop()` asked to the loop returned, while a
  long-poll is pending (the harness waits one second after the warm-up).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from itertools import count
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from attrs import frozen

from benchmarks.bdk.protocol import WARMUP_TEXT, Workload, event_text
from symbot.emulator import Emulator

__all__ = ["SENDER", "STREAMS", "Client", "RunOutcome", "Stage", "json_lines", "run_workload"]

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
SENDER = "bench.sender"
STREAMS = 50
"""Every bot gets this many rooms shared with SENDER; workload events go round-robin."""
STOP_AFTER_WARM = 1.0
RUN_TIMEOUT = 420.0
_run_numbers = count(1)


@frozen
class Client:
    """A client under test: its display name and the command that runs a workload."""

    name: str
    command: tuple[str, ...]  # followed by the workload JSON

    @classmethod
    def module(cls, name: str, python: str, module: str) -> Client:
        return cls(name, (python, "-m", module))


@frozen
class RunOutcome:
    """What one run produced; `error` says why there are no figures."""

    client: str
    workload: str
    result: dict[str, Any] | None = None
    error: str | None = None
    rss_kib: int | None = None
    cold_start: float | None = None
    logins: int | None = None
    sent_at: float | None = None


@frozen
class Stage:
    """The emulator and the users every run shares."""

    emulator: Emulator
    workdir: Path


def _login_count(emu: Emulator) -> int:
    return sum(emu.counters.logins.values())


async def json_lines(stream: anyio.abc.ByteReceiveStream) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects a client writes, one per line; other lines are logged and skipped."""
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                yield json.loads(line)
            except ValueError:
                logger.info("client wrote a non-protocol line: %r", line[:200])


async def _send_warmups(emu: Emulator, bot: str, room: str, warm: anyio.Event) -> None:
    """Send the warm-up as soon as the bot has a feed, then again each second until handled."""
    while not emu.feeds(bot):  # noqa: ASYNC110 - the emulator has no feed-created event
        await anyio.sleep(0.002)
    while not warm.is_set():
        emu.send(SENDER, room, WARMUP_TEXT)
        with anyio.move_on_after(1.0):
            await warm.wait()


def _send_events(emu: Emulator, rooms: Sequence[str], events: int) -> None:
    for index in range(events):
        stream = index % len(rooms)
        emu.send(SENDER, rooms[stream], event_text(stream, index // len(rooms)))


async def run_workload(stage: Stage, client: Client, workload: str, **params: Any) -> RunOutcome:
    """Run `workload` once with a fresh bot account; never raises for a client's failure."""
    emu = stage.emulator
    bot = f"bench.bot{next(_run_numbers)}"
    user = emu.add_user(bot)
    assert user.private_key_pem is not None
    key_path = stage.workdir / f"{bot}.pem"
    key_path.write_bytes(user.private_key_pem)
    rooms = [emu.create_room(f"{bot} room {i}", [SENDER, bot]) for i in range(STREAMS)]
    spec = Workload(
        workload=workload,
        base_url=emu.https_url,
        ca_bundle=str(emu.ca_bundle),
        username=bot,
        private_key=str(key_path),
        **params,
    )
    stderr_path = stage.workdir / f"{bot}.stderr"
    outcome: dict[str, Any] = {"client": client.name, "workload": workload}
    with stderr_path.open("wb") as stderr:
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                await _converse(emu, client, spec, rooms, stderr, outcome)
        except TimeoutError:
            outcome.setdefault("error", f"no result within {RUN_TIMEOUT:.0f} s")
    if "result" not in outcome and "error" not in outcome:
        last = stderr_path.read_text(errors="replace").strip().splitlines()[-1:]
        outcome["error"] = f"the client exited without a result ({' '.join(last)[:300]})"
    if "error" in outcome:
        logger.warning("%s %s: %s", client.name, workload, outcome["error"])
    return RunOutcome(**outcome)


async def _converse(
    emu: Emulator,
    client: Client,
    spec: Workload,
    rooms: Sequence[str],
    stderr: Any,
    outcome: dict[str, Any],
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    spawned = time.monotonic()
    process = await anyio.open_process(
        [*client.command, spec.to_json()], cwd=REPO_ROOT, env=env, stderr=stderr
    )
    async with process:
        async with anyio.create_task_group() as tg:
            warm = anyio.Event()
            if spec.workload != "storm":
                tg.start_soon(_send_warmups, emu, spec.username, rooms[0], warm)
            await _follow(emu, spec, rooms, process, warm, spawned, outcome)
            tg.cancel_scope.cancel()
        if process.stdin is not None:
            await process.stdin.aclose()
        with anyio.move_on_after(5.0):
            await process.wait()
        if process.returncode is None:
            process.kill()


async def _follow(
    emu: Emulator,
    spec: Workload,
    rooms: Sequence[str],
    process: anyio.abc.Process,
    warm: anyio.Event,
    spawned: float,
    outcome: dict[str, Any],
) -> None:
    """Answer the client's protocol lines until its result (or error) arrives."""
    assert process.stdout is not None
    assert process.stdin is not None
    logins_before = 0
    async for line in json_lines(process.stdout):
        phase = line.get("phase")
        if phase == "ready":  # storm: logged in; revoke and fire
            logins_before = _login_count(emu)
            emu.revoke_tokens(spec.username)
            await process.stdin.send(b"go\n")
        elif phase == "warm":
            warm.set()
            outcome["cold_start"] = float(line["t"]) - spawned
            if spec.workload == "stop":
                await anyio.sleep(STOP_AFTER_WARM)
                await process.stdin.send(b"stop\n")
            else:  # the emulator serves nothing until all are sent: time from there
                _send_events(emu, rooms, spec.events)
                outcome["sent_at"] = time.monotonic()
        elif "result" in line:
            outcome["result"] = line["result"]
            outcome["rss_kib"] = line.get("rss_kib")
            if spec.workload == "storm":
                outcome["logins"] = _login_count(emu) - logins_before
            return
        elif "error" in line:
            outcome["error"] = str(line["error"])
            return


def make_workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="symbot-bench-")
