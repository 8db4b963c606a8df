"""`OnSignals`: SIGINT and SIGTERM, heard while a block runs (what `Bot.run()` stops on)."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

from symbot._lifecycle import AsyncResource

__all__ = ["OnSignals"]


class OnSignals(AsyncResource):
    """While entered, each SIGINT or SIGTERM calls `react(signal number, task group)`; the
    task group is the watcher's, for what the reaction starts."""

    def __init__(self, react: Callable[[int, TaskGroup], object]) -> None:
        self._react = react

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._watch, task_group)
            try:
                yield
            finally:
                task_group.cancel_scope.cancel()

    async def _watch(self, task_group: TaskGroup) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                self._react(signum, task_group)
