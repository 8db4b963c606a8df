"""A command bot: typed arguments, optional ones, usage replies and a generated `/help`.

Each command's arguments come from the handler's signature: `int`, `float`, `bool`, `str`
(the last `str` takes the rest of the line) and defaults for optional ones. When the text
does not fit, the bot replies with the usage line, e.g. `/done <number: int>`. `/help` is
built in: one line per command, from the first line of each docstring.

    symbot run examples/command_bot.py:TaskBot -c symbot-emulator/symbot.toml
"""

from __future__ import annotations

import sys
from collections import defaultdict

from symbot import Bot, BotConfig, Message, command


class TaskBot(Bot):
    """A shared task list per conversation (kept in memory)."""

    tasks: defaultdict[str, list[str]]

    async def on_start(self) -> None:
        """Called once the bot is logged in, before it reads its datafeed."""
        self.tasks = defaultdict(list)

    @command("/add", aliases=["/todo"])
    async def add(self, msg: Message, task: str) -> None:
        """Add a task to this conversation's list."""
        self.tasks[msg.stream_id].append(task)
        await msg.reply(f"#{len(self.tasks[msg.stream_id])} added: {task}")

    @command("/done")
    async def done(self, msg: Message, number: int) -> None:
        """Mark task number N as done and remove it."""
        tasks = self.tasks[msg.stream_id]
        if not 1 <= number <= len(tasks):
            await msg.reply(f"there is no task #{number}; /list shows them")
            return
        await msg.reply(f"done: {tasks.pop(number - 1)}")

    @command("/list")
    async def list_tasks(self, msg: Message, limit: int = 10, numbered: bool = True) -> None:
        """Show up to LIMIT tasks (default 10), numbered unless told `no`."""
        tasks = self.tasks[msg.stream_id][:limit]
        if not tasks:
            await msg.reply("nothing to do")
            return
        lines = [f"{i}. {task}" if numbered else f"- {task}" for i, task in enumerate(tasks, 1)]
        await msg.reply("\n".join(lines))


if __name__ == "__main__":
    TaskBot(BotConfig.from_file(sys.argv[1] if len(sys.argv) > 1 else "symbot.toml")).run()
