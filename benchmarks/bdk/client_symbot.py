"""symbot running one benchmark workload (see protocol.py), the way its documentation shows.

The storm goes through `SymphonyClient` (what `Bot` uses for every call) with no datafeed,
like the BDK side calls its session service with no datafeed. The datafeed workloads run a
`Bot` subclass with one `@on_message()` handler; `mention_required_in_rooms` is off so it
sees every room message, as the BDK's listener does. Started by the harness as
`python -m benchmarks.bdk.client_symbot '<workload JSON>'`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks.bdk.protocol import OrderTracker, Workload, emit, read_command, run_client
from symbot.auth import RsaJwtAuth
from symbot.bot import Bot, on_message
from symbot.client import SymphonyClient
from symbot.config import BotConfig, BotSettings
from symbot.errors import SymbotError
from symbot.messages import Message


def bot_config(workload: Workload) -> BotConfig:
    """Every role on the emulator's one HTTPS origin, trusting its CA."""
    return BotConfig(
        pod_url=workload.base_url,
        auth=RsaJwtAuth(username=workload.username, private_key=Path(workload.private_key)),
        ca_bundle=Path(workload.ca_bundle),
        bot=BotSettings(mention_required_in_rooms=False),
    )


async def storm(config: BotConfig, calls: int) -> dict[str, Any]:
    """Log in, let the harness revoke the tokens, then `calls` concurrent session-info calls."""
    failures: list[str] = []
    async with SymphonyClient(config) as client:
        await client.session_info()
        emit({"phase": "ready"})
        if await anyio.to_thread.run_sync(read_command) != "go":
            raise RuntimeError("the harness did not say go")

        async def one() -> None:
            try:
                await client.session_info()
            except SymbotError as exc:
                failures.append(repr(exc))

        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for _ in range(calls):
                tg.start_soon(one)
        seconds = time.monotonic() - started
    return {"ok": calls - len(failures), "failed": len(failures), "seconds": seconds,
            "first_failure": failures[0] if failures else None}  # fmt: skip


class BenchBot(Bot):
    """Hands every message's text to the tracker, optionally sleeping (a slow handler)."""

    help_command = None

    def __init__(self, config: BotConfig, tracker: OrderTracker, handler_seconds: float) -> None:
        super().__init__(config)
        self.tracker = tracker
        self.handler_seconds = handler_seconds

    @on_message()
    async def track(self, msg: Message) -> None:
        mark = self.tracker.begin(msg.text)
        if mark is None:
            return
        if self.handler_seconds:
            await anyio.sleep(self.handler_seconds)
        self.tracker.end(mark)


async def datafeed(config: BotConfig, workload: Workload) -> dict[str, Any]:
    """Serve until the workload's events are handled (or, for "stop", stop while reading)."""
    complete = anyio.Event()
    tracker = OrderTracker(
        expected=workload.events,
        on_warm=lambda: emit({"phase": "warm", "t": time.monotonic()}),
        on_complete=complete.set,
    )
    bot = BenchBot(config, tracker, workload.handler_seconds)
    requested = 0.0
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        if workload.workload == "stop":
            if await anyio.to_thread.run_sync(read_command) != "stop":
                raise RuntimeError("the harness did not say stop")
            requested = time.monotonic()
        else:
            await complete.wait()
        await bot.stop()
    if workload.workload == "stop":
        return {"stop_seconds": time.monotonic() - requested}
    return tracker.result()


async def main(workload: Workload) -> dict[str, Any]:
    config = bot_config(workload)
    if workload.workload == "storm":
        return await storm(config, workload.calls)
    return await datafeed(config, workload)


if __name__ == "__main__":
    run_client(lambda spec: anyio.run(main, spec))
