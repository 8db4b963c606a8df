"""The request log: every request the emulator received, in order, with its arrival time."""

from __future__ import annotations

import anyio
import httpx
import pytest

from symbot.emulator import Emulator

from .support import GUARD, HEALTH

pytestmark = pytest.mark.anyio


async def test_every_request_is_logged_oldest_first_refused_and_faulted_ones_included(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=429, retry_after=1)
    emu.fault("/agent/v5/datafeeds", drop=True)

    assert (await http.get(HEALTH)).status_code == 429
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post("/agent/v5/datafeeds")
    assert (await http.get("/pod/v2/sessioninfo")).status_code == 401
    assert (await http.delete("/nowhere?x=1")).status_code == 404
    assert (await http.get(HEALTH)).status_code == 200

    assert [(r.method, r.path) for r in emu.received_requests()] == [
        ("GET", HEALTH),
        ("POST", "/agent/v5/datafeeds"),
        ("GET", "/pod/v2/sessioninfo"),
        ("DELETE", "/nowhere"),
        ("GET", HEALTH),
    ]
    assert len(emu.received_requests()) == emu.counters.requests


async def test_received_requests_filters_by_path_as_a_fault_rule_matches(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    for path in (HEALTH, "/pod/v2/sessioninfo", HEALTH, "/agent/v5/datafeeds"):
        await http.get(path)

    assert [r.path for r in emu.received_requests(HEALTH)] == [HEALTH, HEALTH]
    assert [r.path for r in emu.received_requests("/agent/")] == [
        HEALTH,
        HEALTH,
        "/agent/v5/datafeeds",
    ]
    assert [r.path for r in emu.received_requests(r"/pod/v\d/")] == ["/pod/v2/sessioninfo"]


async def test_a_request_is_stamped_on_arrival_before_a_fault_holds_it_back(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, delay=60.0)
    before = anyio.current_time()

    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(http.get, HEALTH)
            while not emu.received_requests(HEALTH):  # noqa: ASYNC110 - no arrival hook
                await anyio.sleep(0.001)
            tg.cancel_scope.cancel()  # still held back by the 60 s delay, yet already logged

    (logged,) = emu.received_requests(HEALTH)
    assert before <= logged.received_at <= anyio.current_time()
