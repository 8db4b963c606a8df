"""What every route module of the emulator uses: refusals as Symphony's error answers, the
authenticated caller, and a request's JSON body and query parameters, checked.

Route handlers raise `AgentApiError(status, message)` for any refusal; `refusals_as_errors`
turns it into the `{"code", "message"}` answer both the pod and the agent give.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from symbot.emulator._feeds import AgentApiError
from symbot.emulator._http import Handler, Request, Response, Route, error

__all__ = [
    "caller",
    "json_body",
    "optional_string",
    "query_bool",
    "query_int",
    "routes_of",
]

_J = TypeVar("_J", dict[str, Any], list[Any])


def _refusals_as_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except AgentApiError as exc:
            return error(exc.status, exc.message)

    return wrapper


def routes_of(handlers: list[tuple[str, str, Handler]]) -> list[Route]:
    """(method, path, handler) → routes whose `AgentApiError`s become error answers."""
    return [Route(method, path, _refusals_as_errors(handler)) for method, path, handler in handlers]


def caller(request: Request) -> str:
    if request.username is None:
        raise AgentApiError(401, "the request was not authenticated")
    return request.username


def json_body(request: Request, kind: type[_J], *, empty: _J | None = None) -> _J:
    """The JSON body, which must be a `kind` (dict or list); an empty body is `empty` when
    given, else refused. Malformed → 400."""
    if not request.body.strip():
        if empty is not None:
            return empty
        raise AgentApiError(400, "the request needs a JSON body")
    try:
        body = request.json()
    except ValueError:
        raise AgentApiError(400, "the request body is not valid JSON") from None
    except RecursionError:
        raise AgentApiError(400, "the request body is nested too deeply") from None
    if not isinstance(body, kind):
        shape = "an object" if kind is dict else "an array"
        raise AgentApiError(400, f"the request body must be a JSON {shape}")
    return body


def optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise AgentApiError(400, f"{name} must be a string")
    return value


def query_int(
    request: Request, name: str, default: int | None, *, maximum: int | None = None
) -> int | None:
    """A non-negative integer query parameter (`default` when absent); 400 otherwise."""
    raw = request.query_one(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise AgentApiError(400, f"query parameter {name} must be a non-negative integer")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise AgentApiError(400, f"query parameter {name} must be at most {maximum}")
    return value


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_one(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise AgentApiError(400, f"query parameter {name} must be true or false")
    return raw.lower() == "true"
