"""A bot talking with people through the emulator: commands, filters, events, help, escaping."""

from __future__ import annotations

import re

import anyio
import pytest

from symbot.bot import Bot, command, on_event, on_message
from symbot.config import BotSettings
from symbot.datafeed import Event, UserJoinedRoomEvent
from symbot.messages import Message, bold
from symbot.testing import BotHarness

pytestmark = pytest.mark.anyio


class ShopBot(Bot):
    """A small bot exercising every kind of handler."""

    @command("/echo")
    async def echo(self, msg: Message, text: str) -> None:
        """Repeat the text."""
        await msg.reply(text)

    @command("/add")
    async def add(self, msg: Message, a: int, b: float) -> None:
        """Add two numbers."""
        await msg.reply(f"{a + b:g}")

    @on_message(contains="hello")
    async def greet(self, msg: Message) -> None:
        await msg.reply(bold("Hello ") + (msg.sender.display_name or "stranger"))

    @on_message(regex=r"order (?P<qty>\d+) (?P<item>\w+)")
    async def order(self, msg: Message, qty: str, item: str) -> None:
        await msg.reply(f"ordered {int(qty)} x {item}")

    @on_message(stream_type="ROOM", regex=r"^ping$")
    async def ping_in_rooms(self, msg: Message) -> None:
        await msg.reply("pong (room)")

    @on_event(UserJoinedRoomEvent)
    async def welcome(self, event: Event) -> None:
        assert isinstance(event, UserJoinedRoomEvent)
        name = event.affected_user.display_name or "newcomer"
        await self.send_message(event.stream.stream_id, f"Welcome {name}!")


async def test_a_whole_conversation_end_to_end() -> None:
    async with BotHarness(ShopBot) as h:
        im = h.im("alice")
        room = h.room("shop", ["alice", "bob"])

        await h.say("alice", im, "/echo hi there")
        assert (await h.next_reply(im)).text == "hi there"

        await h.say("alice", im, "/add 2 0.5")
        assert (await h.next_reply(im)).text == "2.5"

        await h.say("alice", im, "well hello bot")
        greeting = await h.next_reply(im)
        assert (
            greeting.message_ml
            == f"<messageML><b>Hello </b>{h.user('alice').display_name}</messageML>"
        )

        await h.say("bob", room, "order 3 apples")
        assert (await h.next_reply(room)).text == "ordered 3 x apples"

        await h.say("bob", room, "ping")
        assert (await h.next_reply(room)).text == "pong (room)"
        await h.say("alice", im, "ping")  # stream_type="ROOM": not in an IM

        h.user("carol")
        h.emulator.room_event("USERJOINEDROOM", room, "alice", "carol")
        welcome = await h.next_reply(room)
        assert welcome.text == f"Welcome {h.user('carol').display_name}!"

        await h.say("alice", im, "/echo done")
        assert (await h.next_reply(im)).text == "done"
        assert all("pong" not in reply.text for reply in h.replies(im))
        assert h.bot.stats.handler_errors == 0


async def test_instance_level_handlers_on_plain_functions() -> None:
    async with BotHarness(Bot) as h:
        seen: list[str] = []

        @h.bot.on_message(regex=re.compile(r"(?P<word>\w+)!$"))
        async def shout(msg: Message, word: str) -> None:
            seen.append(word)
            await msg.reply(word.upper())

        @h.bot.command("/square")
        async def square(msg: Message, n: int) -> None:
            """Square a number."""
            await msg.reply(str(n * n))

        im = h.im("alice")
        await h.say("alice", im, "go!")
        assert (await h.next_reply(im)).text == "GO"
        await h.say("alice", im, "/square 7")
        assert (await h.next_reply(im)).text == "49"
        assert seen == ["go"]


async def test_usage_error_replies_with_the_usage_line() -> None:
    async with BotHarness(ShopBot) as h:
        im = h.im("alice")
        await h.say("alice", im, "/add two 3")
        reply = (await h.next_reply(im)).text
        assert "/add <a: int> <b: float>" in reply
        assert "'two'" in reply
        await h.say("alice", im, "/add 1")
        assert "missing <b: float>" in (await h.next_reply(im)).text
        assert h.bot.stats.handler_errors == 0


async def test_help_lists_commands_from_docstrings() -> None:
    async with BotHarness(ShopBot) as h:
        im = h.im("alice")
        await h.say("alice", im, "/help")
        text = (await h.next_reply(im)).text
        assert "/echo <text…> — Repeat the text." in text
        assert "/add <a: int> <b: float> — Add two numbers." in text
        assert "/help" in text


async def test_rooms_require_a_mention_when_configured() -> None:
    settings = BotSettings(mention_required_in_rooms=True)
    async with BotHarness(ShopBot, settings=settings) as h:
        room = h.room("shop", ["alice"])
        await h.say("alice", room, "/echo unheard")
        await h.say("alice", room, "/echo heard", mention_bot=True)
        assert (await h.next_reply(room)).text == "heard"
        im = h.im("alice")
        await h.say("alice", im, "/echo in an IM no mention is needed")
        assert (await h.next_reply(im)).text == "in an IM no mention is needed"
        assert [reply.text for reply in h.replies(room)] == ["heard"]


async def test_own_messages_are_ignored() -> None:
    class Parrot(Bot):
        @on_message()
        async def parrot(self, msg: Message) -> None:
            await msg.reply(f"you said: {msg.text}")

    async with BotHarness(Parrot) as h:
        im = h.im("alice")
        await h.bot.send_message(im, "I talk to myself")
        h.emulator.send("bot", im, "and so do I")
        await h.say("alice", im, "hi")
        assert (await h.next_reply(im)).text == "I talk to myself"
        assert (await h.next_reply(im)).text == "and so do I"
        assert (await h.next_reply(im)).text == "you said: hi"
        await h.wait_until(lambda: h.bot.stats.own_events_ignored >= 3)
        with anyio.move_on_after(0.2):
            await h.next_reply(im)
            pytest.fail("the bot answered its own message")


HOSTILE = [
    "</messageML><b>injected</b>",
    '<mention uid="1"/> & <a href="javascript:x">x</a>',
    "${user.secret} #{7*7} <#if true>x</#if>",
    "line1\nline2 & <br/> end",
    "<messageML>trusted?</messageML>",
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_text_is_escaped_never_interpreted(text: str) -> None:
    async with BotHarness(ShopBot) as h:
        im = h.im("alice")
        await h.say("alice", im, f"/echo {text}")
        reply = await h.next_reply(im)
        received = h.emulator.sent_messages()[-2]  # what alice sent, as the bot read it
        assert received.sender == "alice"
        assert received.text == f"/echo {text}"
        assert reply.text == received.text.removeprefix("/echo ")
        assert "<b>" not in reply.message_ml
        assert "<mention" not in reply.message_ml
        assert "<a " not in reply.message_ml
        assert "${" not in reply.message_ml


async def test_characters_xml_cannot_carry_are_dropped_from_sent_text() -> None:
    async with BotHarness(Bot) as h:
        im = h.im("alice")
        sent = await h.bot.send_message(im, "a\x00b\x07c\nd")
        assert sent is not None
        assert (await h.next_reply(im)).text == "abc\nd"


async def test_from_user_mentioned_and_predicate_filters() -> None:
    class Picky(Bot):
        @on_message(from_user="bob", predicate=lambda msg: msg.text.endswith("?"))
        async def answer_bob(self, msg: Message) -> None:
            await msg.reply("bob asked")

        @on_message(mentioned=True)
        async def noticed(self, msg: Message) -> None:
            await msg.reply(f"{msg.sender.username} mentioned me")

    async with BotHarness(Picky) as h:
        room = h.room("picky", ["alice", "bob"])
        await h.say("alice", room, "why?")
        await h.say("bob", room, "statement.")
        await h.say("bob", room, "why?")
        assert (await h.next_reply(room)).text == "bob asked"
        await h.say("alice", room, "hello", mention_bot=True)
        assert (await h.next_reply(room)).text == "alice mentioned me"
        assert [m.text for m in h.replies(room)] == ["bob asked", "alice mentioned me"]
