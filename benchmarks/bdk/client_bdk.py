# mypy: disable-error-code="import-not-found,import-untyped"
"""The official Symphony BDK for Python running one benchmark workload (see protocol.py).

Runs inside the BDK's own virtualenv (`nox -s bench` makes it), started by the harness as
`<bdk python> -m benchmarks.bdk.client_bdk '<workload JSON>'` from the repository root; it
imports nothing of symbot. The BDK is asyncio-only, so this file uses asyncio directly (the
one place in the project that does). It uses the BDK the way its documentation shows: a
config loaded by `BdkConfigLoader`, `SymphonyBdk` as an async context manager, a
`RealTimeEventListener` subscribed to `bdk.datafeed()`, `datafeed.stop()` to stop.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from symphony.bdk.core.config.loader import BdkConfigLoader
from symphony.bdk.core.service.datafeed.real_time_event_listener import RealTimeEventListener
from symphony.bdk.core.symphony_bdk import SymphonyBdk

from benchmarks.bdk.protocol import (
    OrderTracker,
    Workload,
    bdk_settings,
    emit,
    read_command,
    run_client,
)


def bdk_config(workload: Workload) -> Any:
    """Every role (pod, KM, agent) on the emulator's one HTTPS origin, trusting its CA."""
    settings = bdk_settings(
        workload.base_url, workload.ca_bundle, workload.username, private_key=workload.private_key
    )
    return BdkConfigLoader.load_from_content(json.dumps(settings))


async def read_command_async() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, read_command)


async def storm(bdk: Any, calls: int) -> dict[str, Any]:
    """Log in, let the harness revoke the tokens, then `calls` concurrent session-info calls."""
    sessions = bdk.sessions()
    await sessions.get_session()
    emit({"phase": "ready"})
    if await read_command_async() != "go":
        raise RuntimeError("the harness did not say go")
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(sessions.get_session() for _ in range(calls)), return_exceptions=True
    )
    seconds = time.monotonic() - started
    failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    return {"ok": calls - len(failures), "failed": len(failures), "seconds": seconds,
            "first_failure": failures[0] if failures else None}  # fmt: skip


class BenchListener(RealTimeEventListener):  # type: ignore[misc]
    """MESSAGESENT handler: hands the text to the tracker, optionally sleeps (a slow handler)."""

    def __init__(self, tracker: OrderTracker, handler_seconds: float) -> None:
        self._tracker = tracker
        self._handler_seconds = handler_seconds

    async def on_message_sent(self, initiator: Any, event: Any) -> None:
        mark = self._tracker.begin(event.message.message)
        if mark is None:
            return
        if self._handler_seconds:
            await asyncio.sleep(self._handler_seconds)
        self._tracker.end(mark)


async def datafeed(bdk: Any, workload: Workload) -> dict[str, Any]:
    """Run the datafeed until the workload's events are handled (or, for "stop", stop it)."""
    complete = asyncio.Event()
    tracker = OrderTracker(
        expected=workload.events,
        on_warm=lambda: emit({"phase": "warm", "t": time.monotonic()}),
        on_complete=complete.set,
    )
    loop = bdk.datafeed()
    loop.subscribe(BenchListener(tracker, workload.handler_seconds))
    running = asyncio.create_task(loop.start())
    if workload.workload == "stop":
        if await read_command_async() != "stop":
            raise RuntimeError("the harness did not say stop")
        requested = time.monotonic()
        await loop.stop()
        await running
        return {"stop_seconds": time.monotonic() - requested}
    waiter = asyncio.create_task(complete.wait())
    await asyncio.wait({running, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if not complete.is_set():
        waiter.cancel()
        running.result()  # raises what killed the loop
        raise RuntimeError("the BDK datafeed loop ended before the workload was handled")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    return tracker.result()


async def main(workload: Workload) -> dict[str, Any]:
    async with SymphonyBdk(bdk_config(workload)) as bdk:
        if workload.workload == "storm":
            return await storm(bdk, workload.calls)
        return await datafeed(bdk, workload)


if __name__ == "__main__":
    run_client(lambda spec: asyncio.run(main(spec)))
