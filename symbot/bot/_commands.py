"""Typed command arguments, read from a handler's signature (rules in `symbot.bot._handlers`).

`command_params` analyses a handler once, at registration; `parse_arguments` turns the rest of
a command line into the handler's arguments, or raises `CommandUsageError` with the usage line.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from attrs import frozen

from symbot.errors import CommandUsageError

__all__ = ["CommandParam", "command_params", "parse_arguments", "usage_line"]


_TRUE = frozenset(("true", "yes", "y", "on", "1"))
_FALSE = frozenset(("false", "no", "n", "off", "0"))
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"(?!\S)|\'([^\']*)\'(?!\S)|“([^”]*)”(?!\S)|(\S+)')
_TYPES: dict[type, Callable[[str], Any]] = {str: str, int: int, float: float, bool: bool}


@frozen
class CommandParam:
    name: str
    type: type
    required: bool
    default: Any
    rest: bool

    def usage(self) -> str:
        inner = f"{self.name}…" if self.rest else f"{self.name}: {self.type.__name__}"
        return f"<{inner}>" if self.required else f"[{inner}]"

    def convert(self, token: str) -> Any:
        if self.type is bool:
            if token.casefold() in _TRUE | _FALSE:
                return token.casefold() in _TRUE
            raise ValueError
        return _TYPES[self.type](token)


def _resolve(annotation: Any, func: Callable[..., Any]) -> tuple[Any, bool]:
    """(base type, whether None is allowed) of an annotation, evaluating string annotations
    in the handler's module like `typing.get_type_hints` does."""
    if isinstance(annotation, str):
        namespace = getattr(inspect.unwrap(getattr(func, "__func__", func)), "__globals__", {})
        annotation = eval(annotation, dict(namespace))  # noqa: S307 - annotation source code
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(get_args(annotation))
    return annotation, False


def command_params(
    name: str, func: Callable[..., Any], params: list[inspect.Parameter]
) -> list[CommandParam]:
    """The command's parameters after the message; TypeError naming the handler when one
    cannot be parsed from text (so a bad signature fails at registration)."""
    where = f"command {name} ({getattr(func, '__qualname__', func)})"
    if not params or params[0].kind not in (
        params[0].POSITIONAL_ONLY,
        params[0].POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(f"{where} must take the message as its first argument")
    result = []
    for p in params[1:]:
        if p.kind is p.KEYWORD_ONLY and p.default is not p.empty:
            continue
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            raise TypeError(f"{where}: parameter {p.name!r} must be a plain positional parameter")
        try:
            base, nullable = _resolve(str if p.annotation is p.empty else p.annotation, func)
        except Exception as exc:
            raise TypeError(f"{where}: cannot resolve the type of {p.name!r}: {exc}") from None
        if base not in _TYPES:
            raise TypeError(f"{where}: parameter {p.name!r} must be str, int, float or bool")
        default = None if nullable and p.default is p.empty else p.default
        result.append(CommandParam(p.name, base, default is p.empty, default, rest=False))
    if result and result[-1].type is str:
        last = result[-1]
        result[-1] = CommandParam(last.name, str, last.required, last.default, rest=True)
    return result


def usage_line(name: str, params: list[CommandParam]) -> str:
    """`/convert <amount: float> [note…]`: the line replied when arguments do not parse."""
    return " ".join([name, *(p.usage() for p in params)])


def _tokens(text: str) -> list[tuple[str, int]]:
    """(word, end offset) for each word; quotes group words."""
    found = []
    for m in _TOKEN.finditer(text):
        quoted, single, curly, bare = m.groups()
        word = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (single or curly or bare)
        found.append((word or "", m.end()))
    return found


def parse_arguments(name: str, params: list[CommandParam], usage: str, text: str) -> list[Any]:
    """The typed values of `params` read from `text`; CommandUsageError when they do not parse."""
    tokens, values, position = _tokens(text), [], 0

    def fail(problem: str) -> CommandUsageError:
        return CommandUsageError(name, problem, usage)

    for index, param in enumerate(params):
        if param.rest:
            rest = text[position:].strip()
            rest_tokens = tokens[index:]
            if len(rest_tokens) == 1 and rest[:1] in "\"'“" and rest:
                rest = rest_tokens[0][0]
            if not rest and param.required:
                raise fail(f"missing {param.usage()}")
            values.append(rest if rest else param.default)
            return values
        if index >= len(tokens):
            if param.required:
                raise fail(f"missing {param.usage()}")
            values.append(param.default)
            continue
        word, position = tokens[index]
        try:
            values.append(param.convert(word))
        except ValueError:
            raise fail(
                f"{word!r} is not a valid {param.type.__name__} for <{param.name}>"
            ) from None
    if len(tokens) > len(params):
        raise fail(f"unexpected {text[position:].strip()!r}")
    return values
