"""`AsyncResource`: one way to be an async context manager, that lets the body's own
exception out as itself and says plainly when an object is entered twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from symbot._lifecycle import AsyncResource

pytestmark = pytest.mark.anyio


class Ticker(AsyncResource):
    """Runs a background task while entered; records what its teardown saw."""

    def __init__(self, *, fail_on_start: BaseException | None = None) -> None:
        self.ticks = 0
        self.torn_down_with: BaseException | None = None
        self.fail_on_start = fail_on_start

    async def _tick(self) -> None:
        while True:
            self.ticks += 1
            await anyio.sleep(0.001)

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._tick)
            if self.fail_on_start is not None:
                raise self.fail_on_start
            try:
                yield
            except BaseException as exc:
                self.torn_down_with = exc
                raise
            finally:
                task_group.cancel_scope.cancel()


async def test_the_body_runs_while_the_background_task_runs() -> None:
    ticker = Ticker()
    async with ticker:
        assert ticker.entered
        with anyio.fail_after(5):
            while ticker.ticks < 3:  # noqa: ASYNC110 - watching the background task
                await anyio.sleep(0.001)
    assert not ticker.entered
    stopped_at = ticker.ticks
    await anyio.sleep(0.01)
    assert ticker.ticks == stopped_at


async def test_the_bodys_exception_propagates_as_itself_and_teardown_sees_it() -> None:
    ticker = Ticker()
    with pytest.raises(LookupError, match="boom") as caught:
        async with ticker:
            raise LookupError("boom")
    assert ticker.torn_down_with is caught.value
    assert not ticker.entered


async def test_a_single_failure_while_entering_is_raised_as_itself() -> None:
    with pytest.raises(KeyError, match="no such thing"):
        async with Ticker(fail_on_start=KeyError("no such thing")):
            pytest.fail("the body must not run")


async def test_entering_twice_says_so() -> None:
    ticker = Ticker()
    async with ticker:
        with pytest.raises(RuntimeError, match="this Ticker is already running"):
            await ticker.__aenter__()


async def test_a_resource_can_be_entered_again_after_it_was_left() -> None:
    ticker = Ticker()
    async with ticker:
        pass
    async with ticker:
        assert ticker.entered
