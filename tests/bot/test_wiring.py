"""How a bot wires what handles its events: its own messages filtered once, every delivered
message able to reply, counters that outlive a serving, serve()'s own errors as themselves."""

from __future__ import annotations

from typing import Any

import pytest

from symbot.bot import Bot, command, on_event, on_message
from symbot.config import BotSettings
from symbot.datafeed import Event, MessageSentEvent
from symbot.emulator import Emulator
from symbot.errors import AuthenticationError
from symbot.messages import Message
from symbot.testing import BotHarness, ServedBot, in_process_config

from .support import eventually, message_event, refused_config

pytestmark = pytest.mark.anyio


class Everything(Bot):
    """A handler of every kind, each noting what it saw."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, str]] = []

    @on_message()
    async def any_message(self, msg: Message) -> None:
        self.seen.append(("message", msg.text))

    @command("/status")
    async def status(self, msg: Message) -> None:
        self.seen.append(("command", msg.text))

    @on_event("MESSAGESENT")
    async def message_event(self, event: MessageSentEvent) -> None:
        self.seen.append(("event", event.message.text))

    @on_event()
    async def every_event(self, event: Event) -> None:
        self.seen.append(("every", event.type))


async def test_the_bots_own_messages_reach_no_handler_of_any_kind() -> None:
    async with BotHarness(Everything) as h:
        im = h.im("alice")
        await h.bot.send_message(im, "/status from myself")
        own = h.emulator.send("bot", im, "/status without an initiator")
        h.emulator.inject_event({**message_event(own), "initiator": None}, to=["bot"])
        await h.say("alice", im, "/status")
        await h.wait_until(lambda: h.bot.stats.events_handled == 1)
        assert h.bot.stats.own_events_ignored == 3
        assert h.bot.seen == [
            ("message", "/status"),
            ("command", "/status"),
            ("event", "/status"),
            ("every", "MESSAGESENT"),
        ]


async def test_with_ignore_own_messages_off_the_bot_hears_itself() -> None:
    settings = BotSettings(mention_required_in_rooms=False, ignore_own_messages=False)
    async with BotHarness(Everything, settings=settings) as h:
        await h.bot.send_message(h.im("alice"), "to myself")
        await h.wait_until(lambda: h.bot.stats.events_handled == 1)
        assert h.bot.stats.own_events_ignored == 0
        assert ("message", "to myself") in h.bot.seen


async def test_an_event_handler_replies_through_the_message_it_was_given() -> None:
    class Greeter(Bot):
        @on_event(MessageSentEvent)
        async def greet(self, event: MessageSentEvent) -> None:
            await event.message.reply(f"hello {event.message.sender.username}")

    async with BotHarness(Greeter) as h:
        room = h.room("lobby", ["alice"])
        await h.say("alice", room, "hi")
        reply = await h.next_reply(room)
        assert reply.text == "hello alice"


async def test_a_sent_message_can_be_replied_to() -> None:
    async with BotHarness(Bot) as h:
        im = h.im("alice")
        sent = await h.bot.send_message(im, "first")
        assert sent is not None
        await sent.reply("second")
        assert [m.text for m in h.replies(im)] == ["first", "second"]


class Counter(Bot):
    @on_message()
    async def count(self, msg: Message) -> None:
        pass


async def test_stats_count_before_during_and_after_serving_and_across_restarts() -> None:
    emu = Emulator()
    bot = Counter(in_process_config(emu, "bot"), transport=emu.transport())
    assert bot.stats.events_handled == 0  # readable before the first serve()
    emu.add_user("alice", public_key_pem=emu.user("bot").public_key_pem)
    im = emu.create_im("bot", "alice")
    for handled, text in enumerate(("one", "two"), start=1):
        async with ServedBot(bot):
            emu.send("alice", im, text)
            await eventually(lambda: bot.stats.events_handled == handled)  # noqa: B023
        assert bot.stats.events_handled == handled  # after serving too
    assert bot.stats.handler_calls == 2


async def test_a_restarted_bot_still_drops_an_event_it_handled_before() -> None:
    emu = Emulator()
    bot = Counter(in_process_config(emu, "bot"), transport=emu.transport())
    emu.add_user("alice", public_key_pem=emu.user("bot").public_key_pem)
    sent = emu.send("alice", emu.create_im("bot", "alice"), "once")
    again = message_event(sent, event_id="evt-once")
    async with ServedBot(bot):
        emu.inject_event(again, to=["bot"])
        await eventually(lambda: bot.stats.events_handled == 1)
    async with ServedBot(bot):
        emu.inject_event(again, to=["bot"])
        await eventually(lambda: bot.stats.duplicates_dropped == 1)
    assert bot.stats.handler_calls == 1


def test_run_raises_refused_credentials_as_themselves() -> None:
    emu = Emulator()
    with pytest.raises(AuthenticationError, match="bot"):
        Bot(refused_config(emu), transport=emu.transport()).run()
