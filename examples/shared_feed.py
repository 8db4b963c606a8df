"""Two instances of one bot sharing one datafeed: each event is handled by one of them.

Instances of a bot that use the same account and the same datafeed tag (by default
`symbot-<username>`) read the *same* feed: the agent gives each batch of events to
whichever instance reads first, so the work is spread and nothing is handled twice.
Start the first instance, then the others: a starting instance reuses the feed it finds
under its tag (instances that start at the very same moment may each create one).

Here both instances live in one process for the demonstration; in production they are
separate processes or machines started with the same symbot.toml:

    python examples/shared_feed.py symbot-emulator/symbot.toml
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

import anyio
import httpx

from symbot import Bot, BotConfig, Message, command


class PingBot(Bot):
    """Answers /ping with the name of the instance that handled it."""

    def __init__(
        self, config: BotConfig, *, name: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config, transport=transport)
        self.name = name
        self.handled = 0

    @command("/ping")
    async def ping(self, msg: Message) -> None:
        """Say which instance answered."""
        self.handled += 1
        await msg.reply(f"pong from instance {self.name}")


async def serve_one_after_another(bots: Sequence[Bot]) -> None:
    """Serve `bots` until cancelled, starting each once the previous one reads its feed."""
    async with anyio.create_task_group() as tg:
        for bot in bots:
            tg.start_soon(bot.serve)
            await bot.started.wait()


async def main(config: BotConfig) -> None:
    """Serve two instances until Ctrl-C, then stop both gracefully."""
    bots = [PingBot(config, name="A"), PingBot(config, name="B")]
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_one_after_another, bots)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        for bot in bots:
            await bot.stop()
        tg.cancel_scope.cancel()
    print("events handled per instance:", {bot.name: bot.handled for bot in bots})


if __name__ == "__main__":
    anyio.run(main, BotConfig.from_file(sys.argv[1] if len(sys.argv) > 1 else "symbot.toml"))
