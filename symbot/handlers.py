"""Handler registration: decorators, filters, typed commands, help.

The decorators `on_message`, `on_event` and `command` work on methods of a `Bot` subclass
and on plain async functions alike: each appends a `HandlerSpec` to the function's
`__symbot_handlers__` list (so they stack) and returns the function unchanged. The bot finds
them with `collect_specs` and puts them, bound, into a `Registry`, which the dispatcher asks
`registry.match(event, ctx)` for the `Invocation`s to await. Signatures are analysed once, at
decoration and registration; matching an event does no introspection.

Rules:
- **Handlers are async.** A sync function is refused at decoration with a TypeError.
- **What handlers receive.** Message handlers and commands get the `Message` as their first
  argument, event handlers the `Event`.
- **Regex groups.** With `on_message(regex=...)`, each *named* group is passed as the keyword
  argument of that name (None if it did not take part) when the handler declares it (or has
  `**kwargs`); a parameter named `match` receives the `re.Match` itself, for positional groups.
  Any other parameter needs a default.
- **Command arguments** are parsed from the handler's parameters after `msg`, typed `str`
  (also unannotated), `int`, `float`, `bool` or `X | None`. Words split on whitespace; "double",
  'single' or “curly” quotes group words (an unbalanced quote is kept as a plain character).
  **The last parameter, if it is a `str`, takes the rest of the line** as typed (unquoted when
  the rest is one quoted string). A default (or `| None`, meaning None) makes a parameter
  optional; keyword-only parameters with defaults are left alone. When the arguments do not
  parse, the `Invocation` raises `CommandUsageError` once awaited, with a usage line such as
  `/convert <amount: float> <currency: str> [note…]` for the bot to reply.
- **Commands** match when the message text — after a leading mention of the bot — starts with
  the command word or an alias (case-insensitive, whole word).
- **Rooms.** With `Registry(mention_required_in_rooms=True)`, message handlers and commands
  fire in rooms (ROOM, MIM) only when the bot is mentioned; in IMs always. Event handlers are
  not affected. Messages the bot sent itself never reach message handlers or commands
  (`ignore_own_messages=True`, the default).
- Each registered function runs at most once per event (its first matching spec wins); a
  message can trigger several functions, e.g. a command and an `on_message` handler.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import cached_property
from typing import Any, Concatenate, ParamSpec, TypeVar

from attrs import evolve, field, frozen

from symbot.commands import command_params, parse_arguments, usage_line
from symbot.errors import CommandUsageError
from symbot.events import STREAM_TYPES, Event, MessageSentEvent
from symbot.messages import Message, Replier

__all__ = [
    "HANDLERS_ATTR",
    "CommandSpec",
    "EventSpec",
    "HandlerSpec",
    "Invocation",
    "MatchContext",
    "MessageSpec",
    "Registry",
    "collect_specs",
    "command",
    "help_text",
    "on_event",
    "on_message",
]

logger = logging.getLogger(__name__)

HANDLERS_ATTR = "__symbot_handlers__"
Handler = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=Handler)
P = ParamSpec("P")


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
class CommandSpec(HandlerSpec):
    name: str  # casefolded, e.g. "/weather"
    aliases: tuple[str, ...] = ()
    help: str | None = None


@frozen
class MatchContext:
    """Who the bot is (for `mentioned`, own messages, command mentions) and how it replies:
    with `replier`, `match` binds it to a received message that has none, so handlers
    (message, command and MESSAGESENT event handlers alike) can `await msg.reply(...)`."""

    bot_user_id: int | None = None
    bot_display_name: str | None = None
    replier: Replier | None = field(default=None, repr=False, eq=False)


@frozen
class Invocation:
    """One handler call decided by `Registry.match`: `await invocation()` runs it. A command
    whose arguments did not parse carries `usage_error`, which calling it raises."""

    func: Handler
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(factory=dict)
    spec: HandlerSpec = field(factory=HandlerSpec, repr=False)
    usage_error: CommandUsageError | None = None

    @property
    def name(self) -> str:
        """The handler's name, for logs."""
        return str(getattr(self.func, "__qualname__", self.func))

    async def __call__(self) -> Any:
        if self.usage_error is not None:
            raise self.usage_error
        return await self.func(*self.args, **self.kwargs)


# ---------------------------------------------------------------------------------------------
# Decorators


def _require_async(func: object) -> None:
    if not inspect.iscoroutinefunction(func):
        name = getattr(func, "__qualname__", func)
        raise TypeError(f"{name!r} must be an async function (async def) to be a symbot handler")


def _attach(spec: HandlerSpec, func: F) -> F:
    _require_async(func)
    previous = getattr(func, HANDLERS_ATTR, [])
    setattr(func, HANDLERS_ATTR, [*previous, spec])  # a new list: wrappers may share __dict__
    return func


def _names(value: str | int | Iterable[str | int] | None, what: str) -> frozenset[Any] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str | int) else list(value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise TypeError(f"{what} takes names or user ids, not {type(item).__name__}")
    return frozenset(item.casefold() if isinstance(item, str) else item for item in items)


def on_message(
    *,
    contains: str | None = None,
    regex: str | re.Pattern[str] | None = None,
    stream_type: str | Iterable[str] | None = None,
    mentioned: bool = False,
    from_user: str | int | Iterable[str | int] | None = None,
    predicate: Callable[[Message], bool] | None = None,
) -> Callable[[F], F]:
    """Run the handler for messages passing every given filter: `contains` (case-insensitive
    substring of the text), `regex` (searched in the text), `stream_type` (IM, MIM, ROOM,
    POST), `mentioned` (the bot is mentioned), `from_user` (usernames or user ids),
    `predicate(msg)`."""
    stream_types = _names(stream_type, "stream_type")
    if stream_types is not None:
        stream_types = frozenset(str(t).upper() for t in stream_types)
        if not stream_types <= STREAM_TYPES:
            raise ValueError(f"stream_type must be among {sorted(STREAM_TYPES)}")
    spec = MessageSpec(
        contains=contains.casefold() if contains is not None else None,
        regex=re.compile(regex) if isinstance(regex, str) else regex,
        stream_types=stream_types,
        mentioned=mentioned,
        from_users=_names(from_user, "from_user"),
        predicate=predicate,
    )
    return lambda func: _attach(spec, func)


def on_event(*types: str | type[Event]) -> Callable[[F], F]:
    """Run the handler for events of these types: names ("USERJOINEDROOM") or classes
    (`UserJoinedRoomEvent`; subclasses match too). No type at all: every event."""
    names, classes = set(), []
    for item in types:
        if isinstance(item, type) and issubclass(item, Event):
            classes.append(item)
        elif isinstance(item, str) and re.fullmatch(r"[A-Za-z_]+", item):
            names.add(item.upper())
        else:
            raise TypeError(f"on_event takes event type names or Event classes, not {item!r}")
    spec = EventSpec(types=frozenset(names), classes=tuple(classes))
    return lambda func: _attach(spec, func)


def command(name: str, *, help: str | None = None, aliases: Iterable[str] = ()) -> Callable[[F], F]:
    """Run the handler for messages starting with `name` (e.g. "/weather"), its arguments
    parsed from the handler's signature (see the module docstring). `help` defaults to the
    first line of the docstring."""
    words = (name, *aliases)
    if any(not word or len(word.split()) != 1 or word.strip() != word for word in words):
        raise ValueError(f"command names must be single words, got {words!r}")
    spec = CommandSpec(name.casefold(), tuple(a.casefold() for a in aliases), help)

    def decorate(func: F) -> F:
        _attach(spec, func)
        params = list(inspect.signature(func).parameters.values())
        command_params(
            spec.name, func, params[1:] if params and params[0].name == "self" else params
        )
        return func

    return decorate


def collect_specs(cls_or_obj: object) -> list[tuple[str, HandlerSpec]]:
    """(attribute name, spec) for each decorated method of a class (or an instance's class),
    base classes first, in definition order; a method overridden without decorators is not
    a handler any more."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        names.update(dict.fromkeys(vars(klass)))
    found: list[tuple[str, HandlerSpec]] = []
    for name in names:
        attr = inspect.getattr_static(cls, name)
        specs = getattr(getattr(attr, "__func__", attr), HANDLERS_ATTR, None)
        if isinstance(specs, list):
            found.extend((name, spec) for spec in specs)
    return found


# ---------------------------------------------------------------------------------------------
# Matching


class _Incoming:
    """One event's message, with what several matchers need computed once."""

    def __init__(self, msg: Message, ctx: MatchContext) -> None:
        self.msg = msg
        self.ctx = ctx
        self.bot_mentioned = ctx.bot_user_id is not None and ctx.bot_user_id in msg.mentions

    @cached_property
    def folded_text(self) -> str:
        return self.msg.text.casefold()

    @cached_property
    def command_line(self) -> tuple[str, str]:
        """(first word casefolded, the rest) of the text after a leading mention of the bot."""
        text = self.msg.text
        if self.bot_mentioned:
            text = self.msg.text_without_mention(
                self.ctx.bot_user_id or 0, display_name=self.ctx.bot_display_name
            )
        word, _, rest = text.strip().partition(" ")
        if "\n" in word:
            word, _, more = word.partition("\n")
            rest = f"{more} {rest}"
        return word.casefold(), rest


class _Matcher:
    """A spec prepared for one handler: `match` returns an Invocation or None."""

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
            self.params = command_params(spec.name, func, params)
            self.usage = usage_line(spec.name, self.params)
            doc = (func.__doc__ or "").strip().splitlines()
            self.description = spec.help or (doc[0].strip() if doc else "")

    def match(self, event: Event, incoming: _Incoming | None) -> Invocation | None:
        spec = self.spec
        if isinstance(spec, EventSpec):
            if (
                (not spec.types and not spec.classes)
                or event.type in spec.types
                or (spec.classes and isinstance(event, spec.classes))
            ):
                return Invocation(self.func, (event,), spec=spec)
            return None
        if incoming is None:
            return None
        if isinstance(spec, CommandSpec):
            word, rest = incoming.command_line
            if word != spec.name and word not in spec.aliases:
                return None
            try:
                args = parse_arguments(spec.name, self.params, self.usage, rest)
            except CommandUsageError as exc:
                return Invocation(self.func, (incoming.msg,), spec=spec, usage_error=exc)
            return Invocation(self.func, (incoming.msg, *args), spec=spec)
        assert isinstance(spec, MessageSpec)
        return self._match_message(spec, incoming)

    def _match_message(self, spec: MessageSpec, incoming: _Incoming) -> Invocation | None:
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
        return Invocation(self.func, (msg,), kwargs, spec=spec)


def _method_proxy(method: Any) -> Any:
    """A plain async function calling `method`, with its signature (`self` already bound)
    but none of its attributes, so the specs stored on the class's function are not copied."""

    @functools.wraps(method, updated=())
    async def proxy(*args: Any, **kwargs: Any) -> Any:
        return await method(*args, **kwargs)

    return proxy


def _registering(
    decorator: Callable[P, Callable[[F], F]],
) -> Callable[Concatenate[Registry, P], Callable[[F], F]]:
    """An instance-level decorator method: `@registry.on_message(...)` decorates and registers."""

    def method(registry: Registry, /, *args: P.args, **kwargs: P.kwargs) -> Callable[[F], F]:
        decorate = decorator(*args, **kwargs)

        def register(func: F) -> F:
            if inspect.ismethod(func):  # a bound method takes no attributes: register a proxy
                registry.add_function(decorate(_method_proxy(func)))
                return func
            return registry.add_function(decorate(func))

        return register

    method.__name__ = method.__qualname__ = getattr(decorator, "__name__", "decorator")
    method.__doc__ = f"`{method.__name__}(...)` that also registers the function here."
    return method


class Registry:
    """The handlers of one bot, and which of them an event calls.

    `mention_required_in_rooms`: in ROOM/MIM streams, message handlers and commands fire only
    when the bot is mentioned. `ignore_own_messages`: the bot's own messages (sender ==
    `ctx.bot_user_id`) never reach message handlers or commands.
    """

    def __init__(
        self, *, mention_required_in_rooms: bool = False, ignore_own_messages: bool = True
    ) -> None:
        self.mention_required_in_rooms = mention_required_in_rooms
        self.ignore_own_messages = ignore_own_messages
        self._entries: list[tuple[Handler, list[_Matcher]]] = []

    def add(self, spec: HandlerSpec, func: Handler) -> None:
        """Register `func` (a bound method or a function) for `spec`; TypeError if its
        signature cannot serve the spec."""
        _require_async(func)
        matcher = _Matcher(spec, func)
        for registered, matchers in self._entries:
            if registered == func:
                matchers.append(matcher)
                return
        self._entries.append((func, [matcher]))

    def add_function(self, func: F) -> F:
        """Register every spec the decorators stored on `func`; returns `func`."""
        for spec in getattr(func, HANDLERS_ATTR, ()):
            self.add(spec, func)
        return func

    def add_object(self, obj: object) -> None:
        """Register the decorated methods of `obj` (e.g. a Bot instance), bound to it."""
        for name, spec in collect_specs(obj):
            self.add(spec, getattr(obj, name))

    on_message = _registering(on_message)
    on_event = _registering(on_event)
    command = _registering(command)

    def add_help_command(self, name: str = "/help") -> None:
        """A `name` command replying `help_text(self)`, unless a command `name` exists."""
        if any(name.casefold() in (spec.name, *spec.aliases) for spec, _, _ in self.commands()):
            return

        async def show_help(msg: Message) -> None:
            """Show the commands and how to use them."""
            await msg.reply(help_text(self))

        self.command(name)(show_help)

    def commands(self) -> list[tuple[CommandSpec, str, str]]:
        """(spec, usage line, description) of each command, in registration order."""
        return [
            (m.spec, m.usage, m.description)
            for _, matchers in self._entries
            for m in matchers
            if isinstance(m.spec, CommandSpec)
        ]

    def match(self, event: Event, ctx: MatchContext) -> list[Invocation]:
        """The invocations `event` triggers, in registration order (one per function)."""
        incoming = None
        if isinstance(event, MessageSentEvent):
            if ctx.replier is not None and not event.message.can_reply:
                event = evolve(event, message=event.message.with_replier(ctx.replier))
            msg = event.message
            incoming = _Incoming(msg, ctx)
            own = ctx.bot_user_id is not None and msg.sender.user_id == ctx.bot_user_id
            if (own and self.ignore_own_messages) or (
                self.mention_required_in_rooms and msg.stream.is_room and not incoming.bot_mentioned
            ):
                incoming = None
        found = []
        for _, matchers in self._entries:
            for matcher in matchers:
                invocation = matcher.match(event, incoming)
                if invocation is not None:
                    found.append(invocation)
                    break
        return found


def help_text(registry: Registry) -> str:
    """One line per command: its usage, aliases and description (first docstring line)."""
    lines = []
    for spec, usage, description in registry.commands():
        also = f" (also {', '.join(spec.aliases)})" if spec.aliases else ""
        lines.append(f"{usage}{also}" + (f" — {description}" if description else ""))
    return "Commands:\n" + "\n".join(lines) if lines else "No commands."
