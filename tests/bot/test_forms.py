"""Elements forms in a bot: `@on_form` routes a submission by form id (and button), hands a
`FormSubmission` whose accessors never fail on what a client sent; the services are on the
bot while it serves; files go out with a message and come back from a person."""

from __future__ import annotations

from typing import Any

import pytest

from symbot.bot import Bot, FormSubmission, command, on_form
from symbot.datafeed import SymphonyElementsActionEvent, parse_event
from symbot.emulator import Emulator
from symbot.errors import NotFoundError
from symbot.messages import Message, button, checkbox, dropdown, form, text_field
from symbot.testing import BotHarness, in_process_config

pytestmark = pytest.mark.anyio

ORDER_FORM = form(
    "order",
    text_field("name", label="Name"),
    dropdown("size", {"s": "Small", "l": "Large"}),
    checkbox("extras", "cheese", "Cheese"),
    button("place", "Place"),
    button("cancel", "Cancel", style="secondary"),
)


class OrderBot(Bot):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submissions: list[FormSubmission] = []

    @command("/order")
    async def ask(self, msg: Message) -> None:
        await msg.reply(ORDER_FORM)

    @on_form("order", action="place")
    async def place(self, submission: FormSubmission) -> None:
        self.submissions.append(submission)
        extras = ", ".join(submission.choices("extras")) or "nothing"
        await self.send_message(
            submission.stream_id,
            f"{submission.text('name')}: {submission.text('size')} with {extras}",
        )

    @on_form("order", action="cancel")
    async def cancel(self, submission: FormSubmission) -> None:
        await self.send_message(submission.stream_id, "cancelled")

    @on_form("survey")
    async def survey(self, submission: FormSubmission) -> None:
        raise AssertionError("another form's handler must not run")


async def test_a_submission_reaches_the_handler_of_its_form_and_button() -> None:
    async with BotHarness(OrderBot) as h:
        im = h.im("alice")
        await h.say("alice", im, "/order")
        sent_form = await h.next_reply(im)
        h.emulator.submit_form(
            "alice",
            sent_form.message_id,
            {"name": "Alice", "size": "l", "extras": "cheese"},
            action="place",
        )
        assert (await h.next_reply(im)).text == "Alice: l with cheese"
        [submission] = h.bot.submissions
        assert (submission.form_id, submission.action) == ("order", "place")
        assert dict(submission.values) == {"name": "Alice", "size": "l", "extras": "cheese"}
        assert submission.user is not None
        assert submission.user.username == "alice"
        assert submission.form_message_id == sent_form.message_id
        assert submission.checked("extras")
        h.emulator.submit_form("alice", sent_form.message_id, {}, action="cancel")
        assert (await h.next_reply(im)).text == "cancelled"
        assert h.bot.stats.handler_errors == 0


async def test_form_handlers_register_on_an_instance_too() -> None:
    async with BotHarness(Bot) as h:
        seen: list[str | None] = []

        @h.bot.on_form()
        async def any_form(submission: FormSubmission) -> None:
            seen.append(submission.form_id)

        im = h.im("alice")
        sent = await h.bot.send_message(im, form("poll", button("yes", "Yes")))
        assert sent is not None
        h.emulator.submit_form("alice", sent.message_id)
        await h.wait_until(lambda: seen == ["poll"])


def elements_event(values: object) -> SymphonyElementsActionEvent:
    event = parse_event(
        {
            "id": "e1",
            "type": "SYMPHONYELEMENTSACTION",
            "timestamp": 1,
            "payload": {
                "symphonyElementsAction": {
                    "stream": {"streamId": "s1"},
                    "formId": "f",
                    "formValues": values,
                }
            },
        }
    )
    assert isinstance(event, SymphonyElementsActionEvent)
    return event


def test_submission_accessors_read_whatever_a_client_sent_without_failing() -> None:
    submission = FormSubmission.of(
        elements_event(
            {
                "action": ["not", "a", "name"],
                "name": "Ann",
                "sizes": ["s", "m"],
                "count": 3,
                "nested": {"a": 1},
                "empty": "",
                "mixed": ["x", {"y": 1}, 2],
            }
        )
    )
    assert submission.action is None
    assert "action" not in submission.values
    assert (submission.text("name"), submission.text("sizes"), submission.text("count")) == (
        "Ann",
        "s, m",
        "3",
    )
    assert submission.text("absent", "-") == "-"
    assert submission.choices("sizes") == ("s", "m")
    assert submission.choices("name") == ("Ann",)
    assert submission.choices("nested") == ()
    assert submission.choices("mixed") == ("x", "2")
    assert not submission.checked("empty")
    assert not submission.checked("absent")
    assert submission.stream_id == "s1"


def test_on_form_refuses_what_cannot_be_a_form_id_or_button() -> None:
    with pytest.raises(TypeError, match="form ids"):
        on_form("")
    with pytest.raises(TypeError, match="button name"):
        on_form("order", action="")
    with pytest.raises(TypeError, match="async"):

        @on_form("order")  # type: ignore[type-var]
        def not_async(submission: FormSubmission) -> None: ...


class WhoisBot(Bot):
    @command("/whois")
    async def whois(self, msg: Message, username: str) -> None:
        try:
            user = await self.users.get_by_username(username)
        except NotFoundError:
            await msg.reply(f"no user {username}")
            return
        room = await self.streams.info(msg.stream_id)
        await msg.reply(f"{user.display_name} ({user.user_id}) in a {room.stream_type}")

    @command("/size")
    async def size(self, msg: Message) -> None:
        sizes = [len(await self.messages.download(msg, a)) for a in msg.attachments]
        await msg.reply(f"{sizes} bytes")
        await self.send_message(msg.stream_id, "echo", attachments=[("echo.bin", b"\x00" * 5)])


async def test_the_services_are_on_the_bot_while_it_serves() -> None:
    idle = WhoisBot(in_process_config(Emulator(), "bot"))
    with pytest.raises(RuntimeError, match="not serving"):
        _ = idle.users
    async with BotHarness(WhoisBot) as h:
        alice = h.user("alice")
        im = h.im("alice")
        await h.say("alice", im, "/whois alice")
        assert (await h.next_reply(im)).text == f"{alice.display_name} ({alice.user_id}) in a IM"
        await h.say("alice", im, "/whois zed")
        assert (await h.next_reply(im)).text == "no user zed"
    with pytest.raises(RuntimeError, match="not serving"):
        _ = h.bot.messages


async def test_a_persons_files_come_in_and_the_bots_go_out() -> None:
    async with BotHarness(WhoisBot) as h:
        im = h.im("alice")
        h.emulator.send("alice", im, "/size", attachments=[("a.txt", b"abc"), ("b.bin", b"12345")])
        assert (await h.next_reply(im)).text == "[3, 5] bytes"
        echo = await h.next_reply(im)
        assert [(a.name, a.content) for a in echo.attachments] == [("echo.bin", b"\x00" * 5)]
