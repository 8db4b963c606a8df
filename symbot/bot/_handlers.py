"""Handler registration: decorators, filters, typed commands, help.

The decorators `on_message`, `on_event`, `command` and `on_form` work on methods of a `Bot` subclass
and on plain async functions alike: each appends a `HandlerSpec` to the function's
`__symbot_handlers__` list (so they stack) and returns the function unchanged. The bot finds
them with `collect_specs` and puts them, bound, into a `Registry`, which the dispatcher asks
`registry.match(event, ctx)` for the `Invocation`s to await. Signatures are analysed once, at
decoration and registration; matching an event does no introspection.

Rules:
- **Handlers are async.** A sync function is refused at decoration with a TypeError.
- **What handlers receive.** Message handlers and commands get the `Message` as their first
  argument, event handlers the `Event`, form handlers (`on_form`) a `FormSubmission`.
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
  parse, the `Invocation` raises `CommandUsageError` when run, with a usage line such as
  `/convert <amount: float> <currency: str> [note…]` for the bot to reply.
- **Commands** match when the message text — after a leading mention of the bot — starts with
  the command word or an alias (case-insensitive, whole word).
- **Rooms.** With `Registry(mention_required_in_rooms=True)`, message handlers and commands
  fire in rooms (ROOM, MIM) only when the bot is mentioned; in IMs always. Event handlers are
  not affected. (The bot's own messages never get this far: its dispatcher skips them.)
- Each registered function runs at most once per event (its first matching spec wins); a
  message can trigger several functions, e.g. a command and an `on_message` handler.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, TypeVar

from symbot.bot._commands import command_params
from symbot.bot._matching import (
    CommandSpec,
    EventSpec,
    FormSpec,
    Handler,
    HandlerSpec,
    Incoming,
    Invocation,
    MatchContext,
    Matcher,
    MessageSpec,
)
from symbot.datafeed import STREAM_TYPES, Event, MessageSentEvent
from symbot.messages import Message

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
    "on_form",
    "on_message",
]

logger = logging.getLogger("symbot.bot")

HANDLERS_ATTR = "__symbot_handlers__"
F = TypeVar("F", bound=Handler)
P = ParamSpec("P")


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


def on_form(*form_ids: str, action: str | None = None) -> Callable[[F], F]:
    """Run the handler when a user submits an Elements form with one of these ids (none:
    any form), and, with `action`, only when they clicked the button of that name. The
    handler receives a `FormSubmission` (values by field name, the button, the user)."""
    for form_id in form_ids:
        if not isinstance(form_id, str) or not form_id:
            raise TypeError(f"on_form takes form ids (non-empty strings), not {form_id!r}")
    if action is not None and (not isinstance(action, str) or not action):
        raise TypeError(f"on_form's action is a button name (a non-empty string), not {action!r}")
    spec = FormSpec(form_ids=frozenset(form_ids), action=action)
    return lambda func: _attach(spec, func)


def command(name: str, *, help: str | None = None, aliases: Iterable[str] = ()) -> Callable[[F], F]:
    """Run the handler for messages starting with `name` (e.g. "/weather"), its arguments
    parsed from the handler's parameters after the message (`str`, `int`, `float`, `bool`,
    `X | None`; quotes group words; a last `str` takes the rest of the line). Arguments that
    do not parse get the usage line as a reply. `help` defaults to the first line of the
    docstring. See [Handlers and commands](handlers.md)."""
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
# Registration and matching


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
    when the bot is mentioned.
    """

    def __init__(self, *, mention_required_in_rooms: bool = False) -> None:
        self.mention_required_in_rooms = mention_required_in_rooms
        self._entries: list[tuple[Handler, list[Matcher]]] = []

    def add(self, spec: HandlerSpec, func: Handler) -> None:
        """Register `func` (a bound method or a function) for `spec`; TypeError if its
        signature cannot serve the spec."""
        _require_async(func)
        matcher = Matcher(spec, func)
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
    on_form = _registering(on_form)

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
            incoming = Incoming(event.message, ctx)
            if (
                self.mention_required_in_rooms
                and event.message.stream.is_room
                and not incoming.bot_mentioned
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
