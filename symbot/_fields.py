"""Typed reads of fields of decoded JSON, for parsers whose errors must say where.

Each reader takes the parent object, the key and the path of the parent (`""` at the top
level), and raises `FieldError` naming the full path of a faulty field
(`payload.messageSent.message.stream.streamId: missing`). JSON `null` counts as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "FieldError",
    "describe",
    "opt_bool",
    "opt_int",
    "opt_ints",
    "opt_object",
    "opt_objects",
    "opt_str",
    "opt_strs",
    "req_object",
    "req_str",
    "wrong_type",
]


class FieldError(Exception):
    """A field of the wrong JSON type, or missing; the message is `path: problem`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path.lstrip('.')}: {problem}")  # top-level fields: where=""


def describe(value: object) -> str:
    """The JSON type of `value`, for messages: "a string", "an array", ..."""
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "a number", float: "a number", list: "an array"}.get(
        type(value), "an object" if isinstance(value, Mapping) else type(value).__name__
    )


def wrong_type(path: str, expected: str, value: object) -> FieldError:
    return FieldError(path, f"expected {expected}, got {describe(value)}")


def opt_object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None or isinstance(value, dict | Mapping):
        return value
    raise wrong_type(f"{where}.{key}", "an object", value)


def req_object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = opt_object(parent, key, where)
    if value is None:
        raise FieldError(f"{where}.{key}", "missing")
    return value


def opt_str(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise wrong_type(f"{where}.{key}", "a string", value)


def req_str(parent: Mapping[str, Any], key: str, where: str) -> str:
    """A non-empty string."""
    value = opt_str(parent, key, where)
    if not value:
        raise FieldError(f"{where}.{key}", "missing")
    return value


def opt_int(parent: Mapping[str, Any], key: str, where: str) -> int | None:
    """An integer; a float with an integral value is accepted, a boolean is not."""
    value = parent.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise wrong_type(f"{where}.{key}", "an integer", value)


def opt_bool(parent: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = parent.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise wrong_type(f"{where}.{key}", "a boolean", value)


def _items(parent: Mapping[str, Any], key: str, where: str) -> list[tuple[Any, str]]:
    """(item, its path) for each item of the array `parent[key]`; none when absent."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong_type(f"{where}.{key}", "an array", value)
    return [(item, f"{where}.{key}[{index}]") for index, item in enumerate(value)]


def opt_objects(
    parent: Mapping[str, Any], key: str, where: str
) -> list[tuple[Mapping[str, Any], str]]:
    """(object, its path) for each item of the array `parent[key]`; none when absent."""
    found = _items(parent, key, where)
    for item, path in found:
        if not isinstance(item, Mapping):
            raise wrong_type(path, "an object", item)
    return found


def opt_strs(parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """An array of strings; `()` when absent."""
    found = _items(parent, key, where)
    for item, path in found:
        if not isinstance(item, str):
            raise wrong_type(path, "a string", item)
    return tuple(item for item, _ in found)


def opt_ints(parent: Mapping[str, Any], key: str, where: str) -> tuple[int, ...]:
    """An array of integers (booleans refused); `()` when absent."""
    found = _items(parent, key, where)
    for item, path in found:
        if isinstance(item, bool) or not isinstance(item, int):
            raise wrong_type(path, "an integer", item)
    return tuple(item for item, _ in found)
