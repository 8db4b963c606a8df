"""Typed reads of fields of decoded JSON, for parsers whose errors must say where.

Each reader takes the parent object and the key, checks the value's JSON type and returns
it, or raises `FieldError` naming the faulty field (`streamId: missing`). JSON `null` counts
as absent; an integral float is an integer, a boolean is not.

Paths are built only when an error is reported: a reader of a nested object is called
through `nested` (or `opt_nested`), which prefixes the key to the path of an error raised
inside (`message.stream.streamId: missing`), and arrays through `each`
(`affectedUsers[1]: expected an object, got a number`). A parser thus reads each object
relative to itself and pays nothing for paths on the way. Readers also take an optional
`where`, the path of the parent, for callers that know it.

The checks test the exact JSON types first (`type(value) is dict`): decoded JSON always
has them, and the abstract `Mapping` check, several times dearer, is reached only by other
mappings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, TypeVarTuple

__all__ = [
    "FieldError",
    "describe",
    "each",
    "nested",
    "opt_int",
    "opt_nested",
    "opt_object",
    "opt_str",
    "req_object",
    "req_str",
    "wrong_type",
]

T = TypeVar("T")
Args = TypeVarTuple("Args")


class FieldError(Exception):
    """A field of the wrong JSON type, or missing; the message is `path: problem`."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path.lstrip(".")  # a top-level field read with where=""
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def within(self, key: str) -> FieldError:
        """The same error as seen from the object that holds this one under `key`."""
        return FieldError(f"{key}.{self.path}", self.problem)


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


def opt_object(parent: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value
    raise wrong_type(f"{where}.{key}", "an object", value)


def req_object(parent: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value = opt_object(parent, key, where)
    if value is None:
        raise FieldError(f"{where}.{key}", "missing")
    return value


def opt_str(parent: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise wrong_type(f"{where}.{key}", "a string", value)


def req_str(parent: Mapping[str, Any], key: str, where: str = "") -> str:
    """A non-empty string."""
    value = parent.get(key)
    if value and isinstance(value, str):
        return value
    if value is None or value == "":
        raise FieldError(f"{where}.{key}", "missing")
    raise wrong_type(f"{where}.{key}", "a string", value)


def opt_int(parent: Mapping[str, Any], key: str, where: str = "") -> int | None:
    """An integer; a float with an integral value is accepted, a boolean is not."""
    value = parent.get(key)
    if value is None or type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise wrong_type(f"{where}.{key}", "an integer", value)


def nested(
    parent: Mapping[str, Any],
    key: str,
    read: Callable[[Mapping[str, Any], *Args], T],
    *args: *Args,
) -> T:
    """`read(parent[key], ...)` for a required JSON object; errors inside it are named
    from `parent` (`key.inner: problem`)."""
    value = parent.get(key)
    if type(value) is not dict:
        value = req_object(parent, key)
    try:
        return read(value, *args)
    except FieldError as exc:
        raise exc.within(key) from None


def opt_nested(
    parent: Mapping[str, Any],
    key: str,
    read: Callable[[Mapping[str, Any], *Args], T],
    *args: *Args,
) -> T | None:
    """`nested`, or None when `key` is absent (or null)."""
    if parent.get(key) is None:
        return None
    return nested(parent, key, read, *args)


def each(
    parent: Mapping[str, Any], key: str, read: Callable[[Mapping[str, Any]], T]
) -> tuple[T, ...]:
    """`read(item)` for each object of the array `parent[key]` (absent: none); errors are
    named with the item's index (`key[2].inner: problem`)."""
    items = parent.get(key)
    if items is None:
        return ()
    if not isinstance(items, list):
        raise wrong_type(key, "an array", items)
    read_items = []
    for index, item in enumerate(items):
        if type(item) is not dict and not isinstance(item, Mapping):
            raise wrong_type(f"{key}[{index}]", "an object", item)
        try:
            read_items.append(read(item))
        except FieldError as exc:
            raise exc.within(f"{key}[{index}]") from None
    return tuple(read_items)
