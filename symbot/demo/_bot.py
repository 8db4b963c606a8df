"""DeskBot, the bot `symbot demo` runs: a trading-desk helper with typed commands.

It is an ordinary `Bot` subclass, written only with symbot's public API, so what it shows
carries over to your own bot: commands with typed arguments (`/convert 100 USD EUR`), a
usage line when they do not parse, the built-in `/help` built from docstrings, and a
welcome for people joining a room. Prices and rates are made up and fixed.
"""

from __future__ import annotations

from symbot import Bot, Message, UserJoinedRoomEvent, command, on_event

__all__ = ["PRICES", "RATES", "DeskBot"]

PRICES = {"AAPL": 187.20, "MSFT": 411.35, "NVDA": 121.44, "TSLA": 248.50}
RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.6, "CHF": 0.88}


class DeskBot(Bot):
    """Quotes prices and converts currencies."""

    @command("/price", aliases=["/quote"])
    async def price(self, msg: Message, symbol: str) -> None:
        """Last price of a stock, e.g. /price AAPL."""
        ticker = symbol.strip().upper()
        if ticker in PRICES:
            await msg.reply(f"{ticker} {PRICES[ticker]:.2f}")
        else:
            await msg.reply(f"no price for {ticker!r}; try {', '.join(PRICES)}")

    @command("/convert")
    async def convert(self, msg: Message, amount: float, source: str, target: str) -> None:
        """Convert an amount between currencies, e.g. /convert 100 USD EUR."""
        source, target = source.strip().upper(), target.strip().upper()
        unknown = [code for code in (source, target) if code not in RATES]
        if unknown:
            await msg.reply(f"unknown currency {unknown[0]}; I know {', '.join(RATES)}")
            return
        converted = amount / RATES[source] * RATES[target]
        await msg.reply(f"{amount:,.2f} {source} = {converted:,.2f} {target}")

    @on_event(UserJoinedRoomEvent)
    async def welcome(self, event: UserJoinedRoomEvent) -> None:
        """Greet people joining a room the bot is in."""
        person = event.affected_user
        if event.stream_id is not None and person.user_id != self.me.user_id:
            name = person.display_name or person.username or "there"
            await self.send_message(event.stream_id, f"Welcome, {name}! Mention me with /help.")
