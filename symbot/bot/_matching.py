"""What the handler decorators record, and how one handler is matched against an event.

`symbot.bot._handlers` holds the decorators and the `Registry`; this module holds the pieces the
registry's `match` runs for every event: the specs (what a decorator recorded), the context
(who the bot is), `Invocation` (a decided handler call) and `Matcher`, which prepares one
spec for one handler at registration, so that matching an event does no introspection and a
handler without filters costs one check.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from attrs import define, field, frozen

from symbot.bot._commands import command_params, parse_arguments, usage_line
from symbot.bot._forms import ACTION_KEY, FormSubmission
from symbot.datafeed import Event, SymphonyElementsActionEvent
from symbot.errors import CommandUsageError
from symbot.messages import Message

__all__ = [
    "CommandSpec",
    "EventSpec",
    "FormSpec",
    "Handler",
    "HandlerSpec",
    "Incoming",
    "Invocation",
    "MatchContext",
    "Matcher",
    "MessageSpec",
    "UsageReply",
]

logger = logging.getLogger("symbot.bot")

Handler = Callable[..., Awaitable[Any]]
_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})


@frozen
class HandlerSpec:
    """What a decorator recorded about a handler (one per decorator)."""


@frozen
class MessageSpec(HandlerSpec):
    """`on_message` filters; all given ones must hold. Texts are compared casefolded."""

    contains: str | None = None
    regex: re.Pattern[str] | None = None
    stream_types: frozenset[str] | None = None
    mentioned: bool = False
    from_users: frozenset[str | int] | None = None  # usernames (casefolded) and user ids
    predicate: Callable[[Message], bool] | None = None


@frozen
class EventSpec(HandlerSpec):
    """`on_event` types; none at all means every event."""

    types: frozenset[str] = frozenset()
    classes: tuple[type[Event], ...] = ()


@frozen
class FormSpec(HandlerSpec):
    """`on_form` filters: the form ids (empty: every form) and the button clicked (None:
    any). Its handlers receive a `FormSubmission`."""

    form_ids: frozenset[str] = frozenset()
    action: str | None = None

    def accepts(self, event: Event) -> bool:
        if not isinstance(event, SymphonyElementsActionEvent):
            return False
        if self.form_ids and event.form_id not in self.form_ids:
            return False
        return self.action is None or event.form_values.get(ACTION_KEY) == self.action


@frozen
class CommandSpec(HandlerSpec):
    name: str  # casefolded, e.g. "/weather"
    aliases: tuple[str, ...] = ()
    help: str | None = None


@frozen
class MatchContext:
    """Who the bot is: for the `mentioned` filter, and for commands after a mention."""

    bot_user_id: int | None = None
    bot_display_name: str | None = None


@define
class Invocation:
    """One handler call decided by `Registry.match`: `await invocation()` runs it. A command
    whose arguments did not parse carries `usage_error`, which calling it raises. (Not
    frozen: one is made per handler per event, and a frozen class takes three times as long
    to build; nothing changes it.)"""

    func: Handler
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(factory=dict)
    spec: HandlerSpec = field(factory=HandlerSpec, repr=False)
    usage_error: CommandUsageError | None = None

    @property
    def name(self) -> str:
        """The handler's name, for logs."""
        return str(getattr(self.func, "__qualname__", self.func))

    def __call__(self) -> Awaitable[Any]:
        """The handler's coroutine (one frame fewer than a wrapping coroutine, per event);
        a command whose arguments did not parse raises its `usage_error` instead."""
        if self.usage_error is not None:
            raise self.usage_error
        return self.func(*self.args, **self.kwargs)


@define
class UsageReply:
    """A command call whose arguments did not parse: replies the usage line instead (the
    bot routes one in place of every call of an event when one of them has a usage error)."""

    invocation: Invocation

    @property
    def name(self) -> str:
        return self.invocation.name

    async def __call__(self) -> None:
        try:
            await self.invocation()
        except CommandUsageError as exc:
            msg = self.invocation.args[0]
            if isinstance(msg, Message) and msg.can_reply:
                await msg.reply(f"{exc.problem}. Usage: {exc.usage}")


class Incoming:
    """One event's message, with what several matchers need worked out once, when first
    asked: a message whose handlers have no filters is never rendered or decoded."""

    __slots__ = ("_bot_mentioned", "_command_line", "_folded_text", "ctx", "msg")

    def __init__(self, msg: Message, ctx: MatchContext) -> None:
        self.msg = msg
        self.ctx = ctx
        self._bot_mentioned: bool | None = None
        self._folded_text: str | None = None
        self._command_line: tuple[str, str] | None = None

    @property
    def bot_mentioned(self) -> bool:
        if self._bot_mentioned is None:
            bot = self.ctx.bot_user_id
            self._bot_mentioned = bot is not None and bot in self.msg.mentions
        return self._bot_mentioned

    @property
    def folded_text(self) -> str:
        if self._folded_text is None:
            self._folded_text = self.msg.text.casefold()
        return self._folded_text

    @property
    def command_line(self) -> tuple[str, str]:
        """(first word casefolded, the rest) of the text after a leading mention of the bot."""
        if self._command_line is None:
            text = self.msg.text
            if self.bot_mentioned:
                text = self.msg.text_without_mention(
                    self.ctx.bot_user_id or 0, display_name=self.ctx.bot_display_name
                )
            word, _, rest = text.strip().partition(" ")
            if "\n" in word:
                word, _, more = word.partition("\n")
                rest = f"{more} {rest}"
            self._command_line = word.casefold(), rest
        return self._command_line


MatchFunction = Callable[[Event, Incoming | None], Invocation | None]


class Matcher:
    """A spec prepared for one handler: `match(event, incoming)` returns an Invocation or
    None (`incoming` is None when the event is no message for message handlers)."""

    def __init__(self, spec: HandlerSpec, func: Handler) -> None:
        params = list(inspect.signature(func).parameters.values())
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if not params or params[0].kind not in positional:
            raise TypeError(f"handler {func!r} must take the message or event as first argument")
        self.spec, self.func = spec, func
        self.accepts = {p.name for p in params[1:] if p.kind is not p.VAR_POSITIONAL}
        self.any_kwargs = any(p.kind is p.VAR_KEYWORD for p in params)
        provided = (
            {"match", *spec.regex.groupindex}
            if isinstance(spec, MessageSpec) and spec.regex
            else set()
        )
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        needed = [p.name for p in params[1:] if p.default is p.empty and p.kind not in variadic]
        missing = [name for name in needed if name not in provided]
        if missing and not isinstance(spec, CommandSpec):
            raise TypeError(f"handler {func!r}: nothing provides parameter(s) {missing}")
        if isinstance(spec, CommandSpec):
            self.words = (spec.name, *spec.aliases)
            # "/help"-like words: a message without such a word is rejected unread.
            self.slash_words = all(w[:1] == "/" and w[1:2].isalnum() for w in self.words)
            self.params = command_params(spec.name, func, params)
            self.usage = usage_line(spec.name, self.params)
            doc = (func.__doc__ or "").strip().splitlines()
            self.description = spec.help or (doc[0].strip() if doc else "")
        self.match: MatchFunction = self._pick(spec)

    def _pick(self, spec: HandlerSpec) -> MatchFunction:
        if isinstance(spec, EventSpec):
            return self._every_event if not spec.types and not spec.classes else self._event
        if isinstance(spec, CommandSpec):
            return self._command
        if isinstance(spec, FormSpec):
            return self._form
        assert isinstance(spec, MessageSpec)
        return self._every_message if spec == MessageSpec() else self._message

    def _every_event(self, event: Event, incoming: Incoming | None) -> Invocation:
        return Invocation(self.func, (event,), _NO_KWARGS, self.spec)

    def _event(self, event: Event, incoming: Incoming | None) -> Invocation | None:
        spec = self.spec
        assert isinstance(spec, EventSpec)
        if event.type in spec.types or (spec.classes and isinstance(event, spec.classes)):
            return Invocation(self.func, (event,), _NO_KWARGS, spec)
        return None

    def _form(self, event: Event, incoming: Incoming | None) -> Invocation | None:
        spec = self.spec
        assert isinstance(spec, FormSpec)
        if not spec.accepts(event):
            return None
        assert isinstance(event, SymphonyElementsActionEvent)
        return Invocation(self.func, (FormSubmission.of(event),), _NO_KWARGS, spec)

    def _every_message(self, event: Event, incoming: Incoming | None) -> Invocation | None:
        if incoming is None:
            return None
        return Invocation(self.func, (incoming.msg,), _NO_KWARGS, self.spec)

    def _command(self, event: Event, incoming: Incoming | None) -> Invocation | None:
        spec = self.spec
        assert isinstance(spec, CommandSpec)
        if incoming is None:
            return None
        # The command word is part of the text (casefolding maps each character on its own):
        # a text without any of the words is no command, whatever mention precedes it.
        if self.slash_words and not incoming.msg.may_hold_slash_command():
            return None
        folded = incoming.folded_text
        for word in self.words:
            if word in folded:
                break
        else:
            return None
        word, rest = incoming.command_line
        if word not in self.words:
            return None
        try:
            args = parse_arguments(spec.name, self.params, self.usage, rest)
        except CommandUsageError as exc:
            return Invocation(self.func, (incoming.msg,), _NO_KWARGS, spec, exc)
        return Invocation(self.func, (incoming.msg, *args), _NO_KWARGS, spec)

    def _message(self, event: Event, incoming: Incoming | None) -> Invocation | None:
        spec = self.spec
        assert isinstance(spec, MessageSpec)
        if incoming is None:
            return None
        msg = incoming.msg
        if spec.stream_types is not None and msg.stream.stream_type not in spec.stream_types:
            return None
        if spec.from_users is not None and not (
            msg.sender.user_id in spec.from_users
            or (msg.sender.username or "").casefold() in spec.from_users
        ):
            return None
        if spec.mentioned and not incoming.bot_mentioned:
            return None
        if spec.contains is not None and spec.contains not in incoming.folded_text:
            return None
        kwargs: dict[str, Any] = {}
        if spec.regex is not None:
            found = spec.regex.search(msg.text)
            if found is None:
                return None
            groups = {"match": found, **found.groupdict()}
            kwargs = {k: v for k, v in groups.items() if self.any_kwargs or k in self.accepts}
        if spec.predicate is not None:
            try:
                if not spec.predicate(msg):
                    return None
            except Exception:
                logger.exception("predicate of handler %r failed; skipping it", self.func)
                return None
        return Invocation(self.func, (msg,), kwargs, spec)
