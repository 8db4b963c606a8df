"""Typed reads of fields of decoded JSON, for parsers whose errors must say where.

Each reader takes the parent object, the key, and `where`, the parent's place in the
document; it checks the value's JSON type and returns it, or raises `FieldError` naming the
faulty field by its path (`payload.messageSent.message.stream.streamId: missing`). JSON
`null` counts as absent; an integral float is an integer, a boolean is not.

A place is a chain of steps from the top, `(parent's place, key or array index)`, with `()`
for the top itself (a dotted string is accepted too). A parser hands each nested object its
place as it goes, which costs one small tuple, and the path is spelled out only when an
error is reported. A reader of a nested object takes the value found there and its place,
and checks that it is an object with `as_object` (`message.stream: missing`). Items of
arrays (`opt_objects`, `opt_strs`, `opt_ints`) come with their paths spelled out
(`affectedUsers[1]`): arrays are rare on the hot path.

The checks test the exact JSON types first (`type(value) is dict`): decoded JSON always
has them, and the abstract `Mapping` check, several times dearer, is reached only by other
mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

__all__ = [
    "ROOT",
    "FieldError",
    "Where",
    "as_object",
    "describe",
    "opt_bool",
    "opt_int",
    "opt_ints",
    "opt_object",
    "opt_objects",
    "opt_str",
    "opt_strs",
    "path_of",
    "req_object",
    "req_str",
    "wrong_type",
]

Where: TypeAlias = "tuple[()] | tuple[Where, str | int] | str"
"""A place in a JSON document: `()` (the top), `(parent's place, key or index)`, or a path
already spelled out (`"payload.messageSent"`)."""
ROOT: Where = ()


def path_of(where: Where, key: str | int | None = None) -> str:
    """The place `where` (and `key` in it) as text: `payload.users[1].userId`."""
    steps: list[str | int] = [] if key is None else [key]
    while isinstance(where, tuple) and where:
        where, step = where
        steps.append(step)
    text = where if isinstance(where, str) else ""
    for step in reversed(steps):
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


class FieldError(Exception):
    """A field of the wrong JSON type, or missing; the message is `path: problem`."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path.lstrip(".")  # (a top-level field named as f"{where}.{key}", where="")
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def describe(value: object) -> str:
    """The JSON type of `value`, for messages: "a string", "an array", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "a number", float: "a number", list: "an array"}.get(
        type(value), "an object" if isinstance(value, Mapping) else type(value).__name__
    )


def wrong_type(path: str, expected: str, value: object) -> FieldError:
    return FieldError(path, f"expected {expected}, got {describe(value)}")


def as_object(value: object, where: Where) -> Mapping[str, Any]:
    """`value`, found at `where`, if it is a JSON object; else the `FieldError` for it."""
    if type(value) is dict or isinstance(value, Mapping):
        return value
    if value is None:
        raise FieldError(path_of(where), "missing")
    raise wrong_type(path_of(where), "an object", value)


def opt_object(
    parent: Mapping[str, Any], key: str, where: Where = ROOT
) -> Mapping[str, Any] | None:
    value = parent.get(key)
    return None if value is None else as_object(value, (where, key))


def req_object(parent: Mapping[str, Any], key: str, where: Where = ROOT) -> Mapping[str, Any]:
    return as_object(parent.get(key), (where, key))


def opt_str(parent: Mapping[str, Any], key: str, where: Where = ROOT) -> str | None:
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise wrong_type(path_of(where, key), "a string", value)


def req_str(parent: Mapping[str, Any], key: str, where: Where = ROOT) -> str:
    """A non-empty string."""
    value = parent.get(key)
    if value and isinstance(value, str):
        return value
    if value is None or value == "":
        raise FieldError(path_of(where, key), "missing")
    raise wrong_type(path_of(where, key), "a string", value)


def opt_int(parent: Mapping[str, Any], key: str, where: Where = ROOT) -> int | None:
    """An integer; a float with an integral value is accepted, a boolean is not."""
    value = parent.get(key)
    if value is None or type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise wrong_type(path_of(where, key), "an integer", value)


def opt_bool(parent: Mapping[str, Any], key: str, where: Where = ROOT) -> bool | None:
    value = parent.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise wrong_type(path_of(where, key), "a boolean", value)


def _items(parent: Mapping[str, Any], key: str, where: Where) -> list[tuple[Any, str]]:
    """(item, its path) for each item of the array `parent[key]`; none when absent."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong_type(path_of(where, key), "an array", value)
    if not value:
        return []
    path = path_of(where, key)
    return [(item, f"{path}[{index}]") for index, item in enumerate(value)]


def opt_objects(
    parent: Mapping[str, Any], key: str, where: Where = ROOT
) -> list[tuple[Mapping[str, Any], str]]:
    """(object, its path) for each item of the array `parent[key]`; none when absent."""
    found = _items(parent, key, where)
    for item, path in found:
        if type(item) is not dict and not isinstance(item, Mapping):
            raise wrong_type(path, "an object", item)
    return found


def opt_strs(parent: Mapping[str, Any], key: str, where: Where = ROOT) -> tuple[str, ...]:
    """An array of strings; `()` when absent."""
    found = _items(parent, key, where)
    for item, path in found:
        if not isinstance(item, str):
            raise wrong_type(path, "a string", item)
    return tuple(item for item, _ in found)


def opt_ints(parent: Mapping[str, Any], key: str, where: Where = ROOT) -> tuple[int, ...]:
    """An array of integers (booleans refused); `()` when absent."""
    found = _items(parent, key, where)
    for item, path in found:
        if isinstance(item, bool) or not isinstance(item, int):
            raise wrong_type(path, "an integer", item)
    return tuple(item for item, _ in found)
