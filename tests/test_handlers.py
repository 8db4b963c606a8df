"""Handler registration: decorators, filters, commands and their arguments, help."""

from __future__ import annotations

import re
from typing import Any

import pytest

from symbot.bot._handlers import (
    HANDLERS_ATTR,
    CommandSpec,
    EventSpec,
    Invocation,
    MatchContext,
    MessageSpec,
    Registry,
    collect_specs,
    command,
    help_text,
    on_event,
    on_message,
)
from symbot.datafeed import Event, MessageSentEvent, UserJoinedRoomEvent, UserLeftRoomEvent
from symbot.errors import CommandUsageError
from symbot.messages import Message, Replier, Stream, User

pytestmark = pytest.mark.anyio

BOT = 1000
CTX = MatchContext(bot_user_id=BOT, bot_display_name="Helper Bot")
ALICE = User(7, "alice", "Alice")
MENTION = '<span class="entity" data-entity-id="0">@Helper Bot</span> '
MENTION_DATA = {
    "0": {
        "type": "com.symphony.user.mention",
        "id": [{"type": "com.symphony.user.userId", "value": str(BOT)}],
    }
}


def message_event(
    text: str,
    *,
    stream_type: str = "IM",
    sender: User = ALICE,
    mention_bot: bool = False,
    replier: Replier | None = None,
) -> MessageSentEvent:
    body = (MENTION if mention_bot else "") + text.replace("\n", "<br/>")
    msg = Message(
        message_id="m1",
        stream=Stream("s1", stream_type),
        sender=sender,
        timestamp=1,
        presentation_ml=f'<div data-format="PresentationML" data-version="2.0">{body}</div>',
        data=MENTION_DATA if mention_bot else {},
        replier=replier,
    )
    return MessageSentEvent(id="e1", type="MESSAGESENT", timestamp=1, message=msg)


def joined_event() -> UserJoinedRoomEvent:
    return UserJoinedRoomEvent(
        id="e2",
        type="USERJOINEDROOM",
        timestamp=1,
        stream=Stream("s2", "ROOM"),
        affected_user=ALICE,
    )


def registry_of(*funcs: Any, **options: Any) -> Registry:
    registry = Registry(**options)
    for func in funcs:
        registry.add_function(func)
    return registry


def names(invocations: list[Invocation]) -> list[str]:
    return [inv.func.__name__ for inv in invocations]


# --- decorators -----------------------------------------------------------------------------


def test_decorators_store_specs_and_return_the_function_unchanged() -> None:
    async def handler(msg: Message) -> None: ...

    decorated = on_message(contains="hi")(handler)
    assert decorated is handler
    assert getattr(handler, HANDLERS_ATTR) == [MessageSpec(contains="hi")]


def test_decorators_stack() -> None:
    @on_event("USERJOINEDROOM")
    @on_message(regex=r"^ping")
    @command("/ping")
    async def handler(msg: Any) -> None: ...

    specs = getattr(handler, HANDLERS_ATTR)
    assert [type(spec) for spec in specs] == [CommandSpec, MessageSpec, EventSpec]


def test_sync_functions_are_refused_at_decoration() -> None:
    def handler(msg: Message) -> None: ...

    with pytest.raises(TypeError, match="must be an async function"):
        on_message()(handler)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="must be an async function"):
        command("/x")(handler)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("decorate", "error"),
    [
        (lambda: on_message(stream_type="CHAT"), ValueError),
        (lambda: on_message(from_user=[True]), TypeError),
        (lambda: on_event("NOT A TYPE"), TypeError),
        (lambda: on_event(int), TypeError),  # type: ignore[arg-type]
        (lambda: command("two words"), ValueError),
        (lambda: command("/x", aliases=[""]), ValueError),
    ],
)
def test_bad_decorator_arguments_are_refused(decorate: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        decorate()


def test_command_signatures_are_checked_at_decoration() -> None:
    async def bad_type(msg: Message, when: list[str]) -> None: ...

    async def var_args(msg: Message, *words: str) -> None: ...

    with pytest.raises(TypeError, match="must be str, int, float or bool"):
        command("/x")(bad_type)
    with pytest.raises(TypeError, match="plain positional parameter"):
        command("/x")(var_args)


def test_handlers_whose_parameters_nothing_provides_are_refused_at_registration() -> None:
    @on_message(contains="x")
    async def needs_more(msg: Message, extra: str) -> None: ...

    with pytest.raises(TypeError, match="extra"):
        registry_of(needs_more)


# --- classes --------------------------------------------------------------------------------


class BaseBot:
    @on_message(contains="hello")
    async def greet(self, msg: Message) -> None:
        self.seen = msg.text

    @on_event("USERJOINEDROOM")
    async def welcome(self, event: Event) -> None: ...


class EchoBot(BaseBot):
    @command("/echo")
    async def echo(self, msg: Message, text: str) -> str:
        """Repeat the text."""
        return text

    async def welcome(self, event: Event) -> None:  # overridden without a decorator
        ...


def test_collect_specs_walks_the_class_hierarchy_in_definition_order() -> None:
    assert [name for name, _ in collect_specs(EchoBot)] == ["greet", "echo"]
    assert [name for name, _ in collect_specs(BaseBot())] == ["greet", "welcome"]


async def test_methods_are_registered_bound_to_the_instance() -> None:
    bot = EchoBot()
    registry = Registry()
    registry.add_object(bot)
    [invocation] = registry.match(message_event("/echo hi there"), CTX)
    assert await invocation() == "hi there"
    [greeting] = registry.match(message_event("Hello!"), CTX)
    await greeting()
    assert bot.seen == "Hello!"


async def test_instance_level_decorators_register_plain_functions() -> None:
    registry = Registry()
    calls: list[str] = []

    @registry.on_message(contains="hi")
    async def hi(msg: Message) -> None:
        calls.append(msg.text)

    @registry.on_event(UserJoinedRoomEvent)
    async def joined(event: Event) -> None:
        calls.append(event.type)

    @registry.command("/n")
    async def number(msg: Message, n: int) -> None:
        calls.append(str(n * 2))

    for event in (message_event("oh hi"), joined_event(), message_event("/n 21")):
        for invocation in registry.match(event, CTX):
            await invocation()
    assert calls == ["oh hi", "USERJOINEDROOM", "42"]


# --- message filters ------------------------------------------------------------------------


@on_message(contains="HeLLo")
async def contains_hello(msg: Message) -> None: ...


@on_message(stream_type=["room", "MIM"])
async def in_rooms(msg: Message) -> None: ...


@on_message(mentioned=True)
async def when_mentioned(msg: Message) -> None: ...


@on_message(from_user=["ALICE", 99])
async def from_alice_or_99(msg: Message) -> None: ...


@on_message(predicate=lambda msg: len(msg.text) > 10)
async def long_ones(msg: Message) -> None: ...


@on_message(contains="hello", stream_type="IM")
async def hello_in_im(msg: Message) -> None: ...


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (message_event("well hello"), ["contains_hello", "from_alice_or_99", "hello_in_im"]),
        (message_event("x", stream_type="ROOM", sender=User(5)), ["in_rooms"]),
        (
            message_event("x", mention_bot=True, sender=User(99)),
            ["when_mentioned", "from_alice_or_99", "long_ones"],
        ),
        (
            message_event("HELLO in a room", stream_type="ROOM", sender=User(5, "Bob")),
            ["contains_hello", "in_rooms", "long_ones"],
        ),
    ],
)
def test_message_filters(event: MessageSentEvent, expected: list[str]) -> None:
    registry = registry_of(
        contains_hello, in_rooms, when_mentioned, from_alice_or_99, long_ones, hello_in_im
    )
    assert names(registry.match(event, CTX)) == expected


def test_a_failing_predicate_skips_its_handler_only(caplog: pytest.LogCaptureFixture) -> None:
    @on_message(predicate=lambda msg: 1 / 0 > 0)
    async def broken(msg: Message) -> None: ...

    registry = registry_of(broken, contains_hello)
    assert names(registry.match(message_event("hello"), CTX)) == ["contains_hello"]
    assert "predicate of handler" in caplog.text


async def test_named_regex_groups_and_the_match_are_passed_as_keywords() -> None:
    @on_message(regex=r"(?i)deploy (?P<service>\w+)(?: to (?P<env>\w+))?")
    async def deploy(msg: Message, service: str, env: str | None, match: re.Match[str]) -> Any:
        return service, env, match.group(0)

    @on_message(regex=re.compile(r"(\d+)\+(\d+)"))
    async def add(msg: Message, match: re.Match[str]) -> int:
        return int(match.group(1)) + int(match.group(2))

    @on_message(regex=r"(?P<word>\w+)")
    async def ignores_groups(msg: Message) -> str:
        return msg.text

    @on_message(regex=r"(?P<word>\w+)")
    async def takes_all(msg: Message, **groups: Any) -> list[str]:
        return sorted(groups)

    registry = registry_of(deploy, add, ignores_groups, takes_all)
    results = [await inv() for inv in registry.match(message_event("Deploy api 2+3"), CTX)]
    assert results == [("api", None, "Deploy api"), 5, "Deploy api 2+3", ["match", "word"]]


def test_each_function_runs_once_even_if_several_of_its_specs_match() -> None:
    @on_message(contains="a")
    @on_message(contains="b")
    async def either(msg: Message) -> None: ...

    assert names(registry_of(either).match(message_event("a b"), CTX)) == ["either"]


# --- events ---------------------------------------------------------------------------------


def test_event_handlers_match_by_name_class_or_everything() -> None:
    @on_event("userjoinedroom")
    async def by_name(event: Event) -> None: ...

    @on_event(UserJoinedRoomEvent, UserLeftRoomEvent)
    async def by_class(event: Event) -> None: ...

    @on_event()
    async def everything(event: Event) -> None: ...

    @on_event("MESSAGESENT")
    async def raw_messages(event: Event) -> None: ...

    registry = registry_of(by_name, by_class, everything, raw_messages)
    joined = joined_event()
    [first, *_] = registry.match(joined, CTX)
    assert first.args == (joined,)
    assert names(registry.match(joined, CTX)) == ["by_name", "by_class", "everything"]
    assert names(registry.match(message_event("x"), CTX)) == ["everything", "raw_messages"]
    unknown = Event(id="e3", type="FUTURETYPE", timestamp=0)
    assert names(registry.match(unknown, CTX)) == ["everything"]


# --- rooms, mentions and own messages -------------------------------------------------------


@command("/status")
async def status(msg: Message) -> None:
    """Show the status.

    More text that help does not show."""


def test_mention_required_in_rooms_gates_message_handlers_and_commands() -> None:
    @on_event("MESSAGESENT")
    async def any_message(event: Event) -> None: ...

    registry = registry_of(contains_hello, status, any_message, mention_required_in_rooms=True)
    assert names(registry.match(message_event("hello", stream_type="ROOM"), CTX)) == ["any_message"]
    assert names(registry.match(message_event("/status", stream_type="MIM"), CTX)) == [
        "any_message"
    ]
    mentioned = message_event("/status hello", stream_type="ROOM", mention_bot=True)
    assert names(registry.match(mentioned, CTX)) == ["contains_hello", "status", "any_message"]
    assert names(registry.match(message_event("/status hello", stream_type="IM"), CTX)) == [
        "contains_hello",
        "status",
        "any_message",
    ]


# --- commands -------------------------------------------------------------------------------


@command("/convert", aliases=["/cv"])
async def convert(
    msg: Message, amount: float, currency: str = "EUR", note: str | None = None
) -> Any:
    """Convert an amount of money."""
    return amount, currency, note


@command("/add")
async def add_numbers(msg: Message, a: int, b: int = 10, verbose: bool = False) -> Any:
    return a, b, verbose


async def run_command(text: str, *funcs: Any, **kw: Any) -> Any:
    [invocation] = registry_of(*(funcs or (convert, add_numbers))).match(
        message_event(text, **kw), CTX
    )
    return await invocation()


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("/convert 12.5", (12.5, "EUR", None)),
        ("/CONVERT 3 usd", (3.0, "usd", None)),
        ("/cv 3 usd for the trip to Paris", (3.0, "usd", "for the trip to Paris")),
        ('/convert 3 "US dollars" "to be sure"', (3.0, "US dollars", "to be sure")),
        ("/convert 3 usd 'quoted' and not", (3.0, "usd", "'quoted' and not")),
        ('/convert 3 usd "unbalanced', (3.0, "usd", '"unbalanced')),
        ("/convert 3 “New York”", (3.0, "New York", None)),
        ("/add 1", (1, 10, False)),
        ("/add 1 2 yes", (1, 2, True)),
        ("/add -4 0x10 off", None),
    ],
)
async def test_command_arguments_are_parsed_from_the_signature(text: str, result: Any) -> None:
    if result is None:
        with pytest.raises(CommandUsageError):
            await run_command(text)
    else:
        assert await run_command(text) == result


async def test_a_leading_mention_of_the_bot_is_skipped() -> None:
    assert await run_command("/add 5", mention_bot=True, stream_type="ROOM") == (5, 10, False)


def test_commands_match_whole_words_only() -> None:
    registry = registry_of(convert, status)
    for text in ("/converter 3", "say /convert 3", "/status-report", "status"):
        assert registry.match(message_event(text), CTX) == [], text
    assert names(registry.match(message_event("/status\nmore"), CTX)) == ["status"]


async def test_commands_match_case_insensitively_in_any_script() -> None:
    @command("/Straße", aliases=["/ΟΔΟΣ"])
    async def street(msg: Message, rest: str | None) -> str | None:
        return rest

    assert await run_command("/STRASSE one", street) == "one"
    assert await run_command("/οδος two", street) == "two"  # a final sigma folds as the other
    for text in ("/Stras se", "/strass", "street /straße"):
        assert registry_of(street).match(message_event(text), CTX) == [], text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/convert", "missing <amount: float>"),
        ("/convert lots", "'lots' is not a valid float for <amount>"),
        ("/add 1 2 maybe", "'maybe' is not a valid bool for <verbose>"),
        ("/add 1 2 yes extra words", "unexpected 'extra words'"),
    ],
)
async def test_bad_arguments_raise_usage_errors_when_invoked(text: str, problem: str) -> None:
    [invocation] = registry_of(convert, add_numbers).match(message_event(text), CTX)
    assert invocation.usage_error is not None
    with pytest.raises(CommandUsageError) as caught:
        await invocation()
    assert caught.value.problem == problem
    assert caught.value.usage in (
        "/convert <amount: float> [currency: str] [note…]",
        "/add <a: int> [b: int] [verbose: bool]",
    )


async def test_a_required_rest_of_line_argument() -> None:
    @command("/say")
    async def say(msg: Message, times: int, text: str) -> str:
        return text * times

    assert await run_command("/say 2 ab c", say) == "ab cab c"
    with pytest.raises(CommandUsageError, match=r"missing <text…>.*/say <times: int> <text…>"):
        await run_command("/say 2", say)


async def test_string_annotations_of_commands_are_resolved() -> None:
    # This module uses `from __future__ import annotations`: every annotation is a string.
    assert convert.__annotations__["amount"] == "float"
    assert await run_command("/convert 1e3") == (1000.0, "EUR", None)


# --- help -----------------------------------------------------------------------------------


def test_help_lists_usage_aliases_and_first_docstring_lines() -> None:
    @command("/hidden", help="Explicit help wins.")
    async def hidden(msg: Message) -> None:
        """Not this."""

    registry = registry_of(convert, status, hidden, contains_hello)
    assert help_text(registry) == (
        "Commands:\n"
        "/convert <amount: float> [currency: str] [note…] (also /cv)"
        " — Convert an amount of money.\n"
        "/status — Show the status.\n"
        "/hidden — Explicit help wins."
    )
    assert help_text(Registry()) == "No commands."


async def test_built_in_help_command_replies_the_help_text() -> None:
    registry = registry_of(status)
    registry.add_help_command()
    registry.add_help_command()  # idempotent
    replies: list[str] = []

    async def replier(stream_id: str, message_ml: str, data: object) -> None:
        replies.append(message_ml)

    [invocation] = registry.match(message_event("/help", replier=replier), CTX)
    await invocation()
    assert replies == [
        "<messageML>Commands:<br/>/status — Show the status.<br/>"
        "/help — Show the commands and how to use them.</messageML>"
    ]


async def test_optional_and_keyword_only_command_parameters() -> None:
    @command("/page")
    async def page(msg: Message, number: int | None, *, size: int = 20) -> Any:
        return number, size

    assert await run_command("/page", page) == (None, 20)
    assert await run_command("/page 3", page) == (3, 20)


def test_command_annotations_that_do_not_resolve_are_refused() -> None:
    async def unknown(msg: Message, when: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
        ...

    with pytest.raises(TypeError, match="cannot resolve the type of 'when'"):
        command("/x")(unknown)


async def test_instance_level_decorators_accept_bound_methods() -> None:
    class Desk:
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def welcome(self, event: Event) -> None:
            self.seen.append(event.type)

        async def price(self, msg: Message, symbol: str) -> None:
            self.seen.append(symbol)

    desk = Desk()
    registry = Registry()
    assert registry.on_event("USERJOINEDROOM")(desk.welcome) == desk.welcome
    registry.command("/price")(desk.price)
    assert not hasattr(Desk.welcome, HANDLERS_ATTR)  # the class's function is left alone

    for event in (joined_event(), message_event("/price AAPL")):
        for invocation in registry.match(event, CTX):
            await invocation()
    assert desk.seen == ["USERJOINEDROOM", "AAPL"]
