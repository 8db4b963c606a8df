"""A bot's own tests, written with `symbot.testing`: no pod, no sockets, no mocks.

`BotHarness` starts an in-process Symphony emulator, creates the bot's account, serves the
bot against it, and lets the test speak as people and read the bot's replies. Run them
like any pytest tests (the anyio plugin comes with anyio):

    cd examples && python -m pytest test_my_bot.py
"""

from __future__ import annotations

import pytest
from command_bot import TaskBot

from symbot.testing import BotHarness

pytestmark = pytest.mark.anyio


async def test_a_task_added_is_listed_and_can_be_done() -> None:
    async with BotHarness(TaskBot) as h:
        im = h.im("alice")
        await h.say("alice", im, "/add write the <quarterly> report")
        (await h.next_reply(im)).assert_text("#1 added: write the <quarterly> report")

        await h.say("alice", im, "/list")
        (await h.next_reply(im)).assert_text("1. write the <quarterly> report")

        await h.say("alice", im, "/done 1")
        (await h.next_reply(im)).assert_text("done: write the <quarterly> report")


async def test_an_argument_of_the_wrong_type_gets_the_usage_line() -> None:
    async with BotHarness(TaskBot) as h:
        im = h.im("bob")
        await h.say("bob", im, "/done first")
        reply = await h.next_reply(im)
        reply.assert_contains("Usage: /done <number: int>").assert_mentions()


async def test_help_lists_every_command_from_its_docstring() -> None:
    async with BotHarness(TaskBot) as h:
        im = h.im("carol")
        await h.say("carol", im, "/help")
        text = (await h.next_reply(im)).text
        assert "/add <task…> (also /todo) — Add a task to this conversation's list." in text
        assert "/list [limit: int] [numbered: bool]" in text


async def test_each_conversation_has_its_own_list() -> None:
    async with BotHarness(TaskBot) as h:
        room = h.room("ops", ["alice", "bob"])
        await h.say("alice", room, "/add restart the cache", mention_bot=True)
        assert (await h.next_reply(room)).text == "#1 added: restart the cache"
        im = h.im("alice")
        await h.say("alice", im, "/list")
        assert (await h.next_reply(im)).text == "nothing to do"
