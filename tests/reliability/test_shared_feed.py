"""Two bot processes share one datafeed; one is killed with SIGKILL while it holds events:
the survivor handles them once the agent re-queues them, and nothing is lost.

The bots run in child processes (tests/reliability/bot_process.py): A on asyncio, B on
trio, against the emulator served on loopback by this process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import anyio
import pytest
from anyio.abc import Process, TaskGroup
from anyio.streams.buffered import BufferedByteReceiveStream

from symbot.emulator import Emulator, emulator_config_toml

from .support import (
    BOT,
    FAST_RETRY,
    LONG_POLL_TIMEOUT,
    VISIBILITY_TIMEOUT,
    EventSource,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

SCRIPT = Path(__file__).with_name("bot_process.py")
A_SECONDS = 0.5  # per event: A is slow, so it is caught holding events
B_SECONDS = 0.05  # per event: B is busy now and then, so A wins batches too
EVENTS_BEFORE_KILL = 40  # at least
EVENTS_AFTER_KILL = 40


class BotProcess:
    """A bot_process.py child and what it reported; `async with` kills it on the way out."""

    def __init__(self, name: str, config: Path, backend: str, seconds_per_event: float) -> None:
        self.name = name
        self.command = [sys.executable, str(SCRIPT), str(config), backend, str(seconds_per_event)]
        self.log = config.with_name(f"{name}.log")  # stderr: symbot's warnings, tracebacks
        self.lines: list[str] = []
        self.got: list[str] = []
        self.done: list[str] = []
        self.ready = anyio.Event()
        self.output_closed = anyio.Event()
        self._process: Process | None = None
        self._task_group: TaskGroup | None = None

    @property
    def process(self) -> Process:
        assert self._process is not None, f"{self.name} was not started"
        return self._process

    @property
    def holding(self) -> set[str]:
        """Messages a handler started on and did not finish."""
        return set(self.got) - set(self.done)

    async def __aenter__(self) -> BotProcess:
        with self.log.open("wb") as log:
            self._process = await anyio.open_process(
                self.command, stdout=subprocess.PIPE, stderr=log
            )
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._read_output)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task_group is not None
        with anyio.CancelScope(shield=True):
            if self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
            await self.process.aclose()
        await self._task_group.__aexit__(None, None, None)  # the reader ends at EOF

    async def _read_output(self) -> None:
        assert self.process.stdout is not None
        stream = BufferedByteReceiveStream(self.process.stdout)
        try:
            while True:
                line = (await stream.receive_until(b"\n", 4096)).decode().strip()
                self.lines.append(line)
                word, _, message_id = line.partition(" ")
                if word == "ready":
                    self.ready.set()
                elif word == "got":
                    self.got.append(message_id)
                elif word == "done":
                    self.done.append(message_id)
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.ClosedResourceError):
            pass
        finally:
            self.output_closed.set()

    async def wait_ready(self) -> None:
        def ready_or_gone() -> bool:
            return self.ready.is_set() or self.output_closed.is_set()

        await wait_until(ready_or_gone, 30, f"{self.name} to be ready")
        assert self.ready.is_set(), f"{self.name} exited before it was ready: {self.explain()}"

    def explain(self) -> str:
        return f"{self.name} said {self.lines[-5:]}; stderr:\n{self.log.read_text()[-3000:]}"


def write_config(emu: Emulator, directory: Path) -> Path:
    """One symbot.toml for both instances, as two processes of one bot would share:
    the emulator's plain-HTTP origin, fast retries forever."""
    pem = emu.user(BOT).private_key_pem
    assert pem is not None
    key = directory / "bot.pem"
    key.touch(mode=0o600)
    key.write_bytes(pem)
    config = directory / "symbot.toml"
    config.write_text(
        emulator_config_toml(pod_url=emu.http_url, username=BOT, private_key=key)
        + f"\n[retry]\ninitial = {FAST_RETRY.initial}\nmaximum = {FAST_RETRY.maximum}\n"
        "max_attempts = 0\n"  # forever
        f"\n[datafeed]\nread_timeout = 5.0\nvisibility_timeout = {VISIBILITY_TIMEOUT}\n"
        "\n[bot]\nmention_required_in_rooms = false\nstop_timeout = 5.0\n"
    )
    return config


# The bots under test run in the children, one per backend; this process only serves the
# emulator and orchestrates. Running it on trio as well would double the slowest test and
# exercise nothing new.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_survivor_handles_what_a_killed_instance_held_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    async with Emulator(
        visibility_timeout=VISIBILITY_TIMEOUT, long_poll_timeout=LONG_POLL_TIMEOUT
    ) as emu:
        emu.add_user(BOT)
        source = EventSource(emu)
        config = write_config(emu, tmp_path)
        with anyio.fail_after(120):
            async with BotProcess("A", config, "asyncio", A_SECONDS) as a:
                await a.wait_ready()
                [feed] = emu.feeds(BOT)
                async with BotProcess("B", config, "trio", B_SECONDS) as b:
                    await b.wait_ready()
                    assert [f.feed_id for f in emu.feeds(BOT)] == [feed.feed_id], "B made a feed"

                    # Traffic for both, until A has finished some events and holds others.
                    while len(source.sent) < EVENTS_BEFORE_KILL or not (a.done and a.holding):
                        assert a.process.returncode is None, a.explain()
                        source.inject(2)
                        await anyio.sleep(0.02)
                    a.process.send_signal(signal.SIGKILL)
                    assert await a.process.wait() == -signal.SIGKILL
                    await a.output_closed.wait()
                    held = a.holding  # after its last line: what it never finished

                    source.inject(EVENTS_AFTER_KILL)
                    await wait_until(
                        lambda: set(a.done) | set(b.done) >= set(source.sent),
                        30,
                        "the survivor to handle every event",
                    )
                    b.process.send_signal(signal.SIGTERM)
                    assert await b.process.wait() == 0, b.explain()
                    await b.output_closed.wait()

        assert held, "A was killed holding nothing"
        assert held <= set(b.done), a.explain()
        assert set(a.done) | set(b.done) == set(source.sent)
        assert emu.counters.events_requeued > 0
        assert b.lines[-2:] == ["stopped", "exited"], b.explain()
        assert [f.feed_id for f in emu.feeds(BOT)] == [feed.feed_id]
