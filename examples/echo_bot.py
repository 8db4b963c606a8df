"""The smallest useful bot: `/echo` repeats, and it says hello back.

Run it against the emulator (two terminals):

    symbot emulator                                   # writes symbot-emulator/symbot.toml
    symbot run examples/echo_bot.py:EchoBot -c symbot-emulator/symbot.toml

or against your pod with your own symbot.toml: `python examples/echo_bot.py symbot.toml`.
"""

from __future__ import annotations

import sys

from symbot import Bot, BotConfig, Message, command, on_message


class EchoBot(Bot):
    """Repeats what it is told."""

    @command("/echo")
    async def echo(self, msg: Message, text: str) -> None:
        """Repeat the text back."""
        await msg.reply(text)  # plain text: escaped, so "<b>" arrives as typed

    @on_message(stream_type="IM", regex=r"(?i)^(hello|hi)\b")
    async def greet(self, msg: Message) -> None:
        await msg.reply(f"Hello, {msg.sender.display_name or 'there'}!")


if __name__ == "__main__":
    EchoBot(BotConfig.from_file(sys.argv[1] if len(sys.argv) > 1 else "symbot.toml")).run()
