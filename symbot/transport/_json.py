"""Decoding what a server answered: bounded JSON, the shape an endpoint promises, error bodies.

Every JSON body symbot reads from the network goes through `parse_json` (or `read_json`,
which adds the request to the error): it never lets `RecursionError` or `MemoryError` out,
and it refuses JSON nested deeper than `MAX_ANSWER_DEPTH`, so nothing that walks the result
later (an event parser, a handler's `repr`) can meet a structure deep enough to hurt it.

The one exception is a datafeed batch, the hot path: walking every batch to measure its
depth would cost as much as decoding it. Its events are read field by field by a parser
that never recurses into them, so only the decoder's own guard applies there
(`max_depth=None`), and the parser bounds the free-form parts it hands out
(`check_depth`: room properties, form values, parameters).
The size of a body is bounded before it gets here (`AnswerGuard`).

`read_error_body` is the one reader of a Symphony error body (`{"code", "message"}`, or a
proxy's HTML page, or garbage): what it returns is safe to put in a log line or an
exception message (redacted, single-line, short).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import chain, compress, repeat
from typing import Any, TypeVar

import httpx
from attrs import frozen

from symbot.errors import MalformedAnswerError, redact

__all__ = [
    "MAX_ANSWER_DEPTH",
    "ErrorBody",
    "JsonError",
    "as_list",
    "as_object",
    "check_depth",
    "malformed",
    "parse_json",
    "parse_json_at",
    "read_error_body",
    "read_json",
]

T = TypeVar("T")

MAX_ANSWER_DEPTH = 64
"""How deeply an answer's JSON may nest. Symphony's deepest answers (a datafeed batch of
events carrying messages) nest about ten levels; anything near Python's recursion limit
(about a thousand) is an attack or a bug, never data."""

MESSAGE_CHARS = 300
"""How much of a server's error message symbot repeats in logs and exceptions."""

_CONTAINERS = (dict, list)
_DECODER = json.JSONDecoder()


class JsonError(ValueError):
    """A body that is not the JSON it should be. `kind` is one of
    `symbot.errors.MALFORMED_KINDS` ("not JSON", "too deep", "unexpected shape");
    `position` is how far decoding got, when known."""

    def __init__(self, kind: str, detail: str, position: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.position = position


def parse_json(data: bytes | str, *, max_depth: int | None = MAX_ANSWER_DEPTH) -> Any:
    """The JSON value of `data`; `JsonError` when it is not JSON or nests too deeply
    (deeper than `max_depth`; with None, near the interpreter's recursion limit: see the
    module docstring for the one caller that may say so).

    Never raises `RecursionError` or `MemoryError`: the first is what the json module
    raises near the interpreter's recursion limit, the second what a huge body can cost.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise JsonError("too deep", _deeper_than(max_depth)) from None
    except MemoryError:
        raise JsonError("not JSON", "too large to decode in the memory available") from None
    except UnicodeDecodeError:
        raise JsonError("not JSON", "the body is not UTF-8 text") from None
    except ValueError as exc:
        raise JsonError("not JSON", _where(exc, data)) from None
    if max_depth is not None and _openers(data) > max_depth:  # else it cannot be deeper
        check_depth(value, max_depth)
    return value


def _openers(data: bytes | str) -> int:
    """How many `[` and `{` `data` holds (in strings too): a bound on its depth, counted at
    the speed of a memory scan."""
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    return data.count(b"[") + data.count(b"{")


def parse_json_at(text: str, pos: int, *, max_depth: int = MAX_ANSWER_DEPTH) -> tuple[Any, int]:
    """The JSON value that starts at `text[pos]` and the index just past it (as
    `json.JSONDecoder.raw_decode`); `JsonError` as `parse_json`."""
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise JsonError("too deep", _deeper_than(max_depth)) from None
    except MemoryError:
        raise JsonError("not JSON", "too large to decode in the memory available") from None
    except json.JSONDecodeError as exc:
        raise JsonError("not JSON", _where(exc, text), exc.pos) from None
    try:
        check_depth(value, max_depth)
    except JsonError as exc:
        raise JsonError(exc.kind, exc.detail, end) from None
    return value, end


def check_depth(value: Any, max_depth: int = MAX_ANSWER_DEPTH) -> None:
    """`JsonError` when `value` nests more than `max_depth` containers deep.

    Breadth first, one level at a time, with the iteration done by C builtins (`compress`,
    `map`, `chain`): a 100-event batch costs a fraction of its decoding, and a hostile body
    of millions of tiny lists costs less than decoding it did.
    """
    level: list[Any] = [value]
    for _ in range(max_depth):
        level = [*compress(level, map(isinstance, level, repeat(_CONTAINERS)))]
        if not level:
            return
        dicts = compress(level, map(isinstance, level, repeat(dict)))
        lists = compress(level, map(isinstance, level, repeat(list)))
        level = [*chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(lists))]
    if any(map(isinstance, level, repeat(_CONTAINERS))):
        raise JsonError("too deep", _deeper_than(max_depth))


def _deeper_than(max_depth: int | None) -> str:
    if max_depth is None:
        return "JSON nested too deeply to decode"
    return f"JSON nested more than {max_depth} levels deep"


def _where(exc: ValueError, data: bytes | str) -> str:
    if isinstance(exc, json.JSONDecodeError):
        if not data.strip():
            return "the body is empty"
        return f"{exc.msg} at character {exc.pos}"
    return type(exc).__name__


def as_object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object; `JsonError("unexpected shape")` otherwise."""
    if not isinstance(value, dict):
        raise JsonError("unexpected shape", f"expected a JSON object, got {_json_type(value)}")
    return value


def as_list(value: Any) -> list[Any]:
    """`value` when it is a JSON array; `JsonError("unexpected shape")` otherwise."""
    if not isinstance(value, list):
        raise JsonError("unexpected shape", f"expected a JSON array, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def malformed(response: httpx.Response, kind: str, detail: str) -> MalformedAnswerError:
    """The `MalformedAnswerError` for `response`, naming its request and status."""
    request = response.request
    return MalformedAnswerError(
        request.method, str(request.url), response.status_code, kind, detail
    )


def read_json(response: httpx.Response, shape: Callable[[Any], T]) -> T:
    """The JSON body of a (read) `response`, passed through `shape` (`as_object`, `as_list`,
    or a parser of the caller's that raises `ValueError`, `TypeError` or `KeyError` on a value
    it cannot use). Anything wrong is a `MalformedAnswerError` naming the request."""
    try:
        return shape(parse_json(response.content))
    except JsonError as exc:
        raise malformed(response, exc.kind, exc.detail) from None
    except (ValueError, TypeError, KeyError) as exc:
        raise malformed(response, "unexpected shape", _one_line(str(exc)) or repr(exc)) from None


@frozen
class ErrorBody:
    """What an error answer said: Symphony's `message` (or, for a body that is not
    Symphony's JSON, the start of its text) and `code`, safe to log."""

    message: str
    code: int | None = None


_TAGS = re.compile(r"<[^>]{0,1000}>")


def read_error_body(response: httpx.Response) -> ErrorBody:
    """The one reader of an error answer's body; see the module docstring. Never raises."""
    body = response.content
    try:
        payload = parse_json(body)
    except JsonError as exc:
        if exc.kind != "not JSON":
            return ErrorBody("")
        text = body[: MESSAGE_CHARS * 16].decode("utf-8", errors="replace")
        if "<" in text:  # a proxy's or load balancer's HTML page: its words, not its markup
            text = _TAGS.sub(" ", text)
        return ErrorBody(_one_line(text))
    if not isinstance(payload, dict):
        return ErrorBody("")
    message = payload.get("message")
    code = payload.get("code")
    return ErrorBody(
        _one_line(message) if isinstance(message, str) else "",
        code if isinstance(code, int) and not isinstance(code, bool) else None,
    )


_DANGLING = re.compile(r"eyJ[\w.-]*$|-----BEGIN[\s\S]*$")
"""The start of a JWT or PEM block that a cut left at the end of a text, where `redact`
no longer recognises it."""


def _one_line(text: str) -> str:
    """`text` redacted, on one line of printable characters (no terminal escapes or forged
    log lines), at most `MESSAGE_CHARS` long."""
    text = _DANGLING.sub("***", text[: MESSAGE_CHARS * 4])
    printable = "".join(c if c.isprintable() else " " for c in redact(text))
    single = " ".join(printable.split())
    if len(single) > MESSAGE_CHARS:
        single = _DANGLING.sub("***", single[: MESSAGE_CHARS - 1]) + "…"
    return single
