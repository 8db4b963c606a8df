"""One bot instance in a process of its own, for test_shared_feed.py.

    python bot_process.py <symbot.toml> <asyncio|trio> <seconds per event>

Serves with `Bot.run()` (so SIGTERM stops it gracefully) and reports on stdout, one
flushed line each: `ready` once its datafeed is open, `got <message id>` when a handler
starts, `done <message id>` when it ends, `stopped` from `on_stop`, `exited` after `run()`.
Imports symbot only: it runs under `sys.executable`, outside the test package.
"""

from __future__ import annotations

import sys

import anyio

from symbot.bot import Bot, on_message
from symbot.config import BotConfig
from symbot.messages import Message


def say(line: str) -> None:
    print(line, flush=True)


class ReportingBot(Bot):
    """Reports each message it handles, taking `seconds_per_event` over each."""

    help_command = None

    def __init__(self, config: BotConfig, seconds_per_event: float) -> None:
        super().__init__(config)
        self.seconds_per_event = seconds_per_event

    async def serve(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._announce_ready)
            try:
                await super().serve()
            finally:
                tg.cancel_scope.cancel()

    async def _announce_ready(self) -> None:
        await self.started.wait()
        say("ready")

    @on_message()
    async def report(self, msg: Message) -> None:
        say(f"got {msg.message_id}")
        await anyio.sleep(self.seconds_per_event)
        say(f"done {msg.message_id}")

    async def on_stop(self) -> None:
        say("stopped")


def main(argv: list[str]) -> None:
    config_path, backend, seconds = argv
    ReportingBot(BotConfig.from_file(config_path), float(seconds)).run(backend=backend)
    say("exited")


if __name__ == "__main__":
    main(sys.argv[1:])
