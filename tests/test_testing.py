"""`symbot.testing`'s replies: what the people in a conversation got from the bot, and
assertions on it that say, when they fail, what was expected and what the bot sent."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from symbot import Bot, Message, command
from symbot.messages import bold, mention
from symbot.testing import BotHarness, Reply

pytestmark = pytest.mark.anyio

ORDER = {"order": {"type": "com.example.order", "version": "1.0", "id": 7, "lines": [1, 2]}}


class GreeterBot(Bot):
    @command("/greet")
    async def greet(self, msg: Message) -> None:
        await msg.reply(bold("Hello ") + mention(msg.sender.user_id) + "!", data=ORDER)

    @command("/plain")
    async def plain(self, msg: Message) -> None:
        await msg.reply("nothing special")


async def greeted(h: BotHarness[GreeterBot], stream_id: str, who: str = "alice") -> Reply:
    await h.say(who, stream_id, "/greet")
    return await h.next_reply(stream_id)


async def test_a_reply_reads_as_the_people_got_it_and_its_assertions_chain() -> None:
    async with BotHarness(GreeterBot) as h:
        im = h.im("alice")
        reply = await greeted(h, im)

        assert reply.text == f"Hello @{h.user('alice').display_name}!"
        assert reply.mentions == ("alice",)
        assert reply.data["order"] == ORDER["order"]
        assert reply.stream_id == im
        assert "<b>Hello </b>" in reply.message_ml
        (
            reply.assert_text(f"Hello @{h.user('alice').display_name}!")
            .assert_contains("Hello", "!")
            .assert_matches(r"^Hello @\w+")
            .assert_mentions("alice")
            .assert_data({"order": {"id": 7}})
            .assert_data(ORDER)
            .assert_in(im)
        )
        await h.say("alice", im, "/plain")
        (await h.next_reply(im)).assert_mentions().assert_data({})
        assert [r.text for r in h.replies(im)][-1] == "nothing special"


async def test_a_failed_assertion_says_what_was_expected_and_quotes_the_reply() -> None:
    async with BotHarness(GreeterBot) as h:
        room = h.room("desk", ["alice", "bob"])
        reply = await greeted(h, room, who="bob")

        with pytest.raises(AssertionError) as failure:
            reply.assert_text("Hello Bob")
        message = str(failure.value)
        assert message.startswith("expected text 'Hello Bob' from the bot in the room #desk")
        assert f"text:     {reply.text!r}" in message
        assert "mentions: bob" in message
        assert "'id': 7" in message

        failures: dict[str, Callable[[], Reply]] = {
            "text containing 'Goodbye'": lambda: reply.assert_contains("Hello", "Goodbye"),
            "text matching '^Bye'": lambda: reply.assert_matches("^Bye"),
            "mentions of alice, bob": lambda: reply.assert_mentions("alice", "bob"),
            "mentions of no one": lambda: reply.assert_mentions(),
            "data holding {'order': {'id': 8}}": lambda: reply.assert_data({"order": {"id": 8}}),
            "data holding {'order': {'lines': [1]}}": lambda: reply.assert_data(
                {"order": {"lines": [1]}}
            ),
            "a reply in stream 'elsewhere'": lambda: reply.assert_in("elsewhere"),
        }
        for expected, check in failures.items():
            with pytest.raises(
                AssertionError, match=f"^expected {re.escape(expected)} from the bot"
            ):
                check()


async def test_replies_in_an_im_name_the_person() -> None:
    async with BotHarness(GreeterBot) as h:
        reply = await greeted(h, h.im("carol"), who="carol")
        with pytest.raises(AssertionError, match="in the IM with carol, but it sent"):
            reply.assert_text("")
