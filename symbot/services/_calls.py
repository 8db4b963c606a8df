"""How every service talks to Symphony: one request path, one error policy.

`Calls(client).json(...)` sends through the client's authenticated pod or agent client (tokens,
single-flight refresh on 401, the retry policy); the transport reads every answer within its
size limit (`symbot.transport.AnswerGuard`, `limits.max_answer_bytes`, or a call's own
`max_bytes`); `decode` is the services' way into the one JSON reader
(`symbot.transport.read_json`: bounded depth, never a `RecursionError`), handing the value to
a field-by-field reader. Refusals become errors that name what the call was about:

- 404, a 204 ("nothing") to a lookup of one object, a 400 to a lookup by id → `NotFoundError`
  ("no such stream 'abc'");
- 403 → `ForbiddenError` ("the bot is not a member, or not entitled");
- anything else ≥ 400 → `ApiError` and its subclasses (`symbot.client.api_error`);
- an answer too large, not JSON, nested beyond reason, of the wrong shape, or with a field of
  the wrong type → `MalformedAnswerError` (an `ApiError`) saying what and where; a call that
  may run twice retries it like a 5xx first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from symbot._fields import FieldError, describe
from symbot.client import SymphonyClient, api_error
from symbot.config import Role
from symbot.errors import ApiError, ForbiddenError, MalformedAnswerError, NotFoundError
from symbot.transport import ANSWER_LIMIT, JsonError, read_json

__all__ = ["Calls", "decode", "expect", "url_safe_id"]

_T = TypeVar("_T")


def url_safe_id(identifier: str) -> str:
    """A message or stream id as Symphony's paths want it: URL-safe base64 without padding
    (ids from some sources come as standard base64, with `+`, `/` and `=`), quoted."""
    if not isinstance(identifier, str) or not identifier:
        raise ValueError(f"an id is a non-empty string, not {identifier!r}")
    return quote(identifier.replace("+", "-").replace("/", "_").rstrip("="), safe="")


class Calls:
    """The HTTP side of the services, for one `SymphonyClient`; see the module docstring.
    `auth` replaces the client's own tokens: an app acting for a user (`symbot.apps`)."""

    def __init__(self, client: SymphonyClient, *, auth: httpx.Auth | None = None) -> None:
        self.client = client
        self._auth = auth

    async def send(
        self,
        role: Role,
        method: str,
        path: str,
        *,
        subject: str,
        lookup: bool = False,
        idempotent: bool = True,
        max_bytes: int | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """The answer to `method path` (body read, at most `max_bytes`: by default
        `limits.max_answer_bytes`), or None for a 204 that is not an error. `subject` names
        what the call is about, for errors; `lookup` marks a call that reads one object by id
        (see the module docstring)."""
        response, _ = await self._send(
            role, method, path, None, idempotent=idempotent, max_bytes=max_bytes, **kwargs
        )
        return self._checked(response, subject=subject, lookup=lookup)

    async def _send(
        self,
        role: Role,
        method: str,
        path: str,
        read: Callable[[Any], _T] | None,
        *,
        idempotent: bool,
        max_bytes: int | None,
        **kwargs: Any,
    ) -> tuple[httpx.Response, list[_T]]:
        """The answer (with the retry policy) and, when `read` is given and the answer is a
        2xx with content, what `decode` made of it: decoded within each attempt, so that a
        malformed answer is retried like a 5xx."""
        http = self.client.http(role)
        if max_bytes is not None:
            kwargs["extensions"] = {**kwargs.get("extensions", {}), ANSWER_LIMIT: max_bytes}
        decoded: list[_T] = []

        if self._auth is not None:
            kwargs["auth"] = self._auth

        async def attempt() -> httpx.Response:
            response = await http.request(method, path, **kwargs)
            if read is not None and response.is_success and response.status_code != 204:
                decoded[:] = [decode(response, read)]
            return response

        response = await self.client.transport.send_with_retry(attempt, idempotent=idempotent)
        return response, decoded

    def _checked(
        self, response: httpx.Response, *, subject: str, lookup: bool
    ) -> httpx.Response | None:
        """`response` if it is an answer, None for a 204 that is not an error; else the
        error (see the module docstring)."""
        status = response.status_code
        if status == 204:
            if lookup:
                raise self._refusal(NotFoundError, response, subject)
            return None
        if status < 400:
            return response
        if status == 404 or (status == 400 and lookup):
            raise self._refusal(NotFoundError, response, subject)
        if status == 403:
            raise self._refusal(ForbiddenError, response, subject)
        raise api_error(response)

    async def json(
        self,
        role: Role,
        method: str,
        path: str,
        *,
        subject: str,
        read: Callable[[Any], _T],
        empty: Callable[[], _T] | None = None,
        lookup: bool = False,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> _T:
        """`read(decoded JSON)` of the answer; `read` raises `FieldError` (from
        `symbot._fields`) for what it cannot use. A 204 gives `empty()` where the endpoint
        may answer "nothing" (a search, a listing); elsewhere it is a malformed answer."""
        response, decoded = await self._send(
            role, method, path, read, idempotent=idempotent, max_bytes=None, **kwargs
        )
        if self._checked(response, subject=subject, lookup=lookup) is not None:
            if not decoded:  # a 3xx: symbot follows no redirect
                raise api_error(response)
            return decoded[0]
        if empty is None:
            url = self.client.http(role).base_url.join(path)
            raise MalformedAnswerError(method, str(url), 204, "unexpected shape", "no content")
        return empty()

    def not_found(self, role: Role, method: str, path: str, subject: str) -> NotFoundError:
        """The error for a successful answer that holds nothing about `subject`."""
        url = self.client.http(role).base_url.join(path)
        return NotFoundError(method, str(url), 200, subject)

    @staticmethod
    def _refusal(
        kind: type[NotFoundError | ForbiddenError], response: httpx.Response, subject: str
    ) -> ApiError:
        said = api_error(response) if response.content else None
        request = response.request
        message = said.server_message if said is not None else ""
        return kind(request.method, str(request.url), response.status_code, subject, message)


def decode(response: httpx.Response, read: Callable[[Any], _T]) -> _T:
    """The services' way into the one JSON reader (`symbot.transport.read_json`): the body
    (already bounded) as JSON, handed to `read`, whose `FieldError` says where the answer
    is wrong; anything unusable is a `MalformedAnswerError`."""

    def fields(payload: Any) -> _T:
        try:
            return read(payload)
        except FieldError as exc:
            raise JsonError("unexpected shape", str(exc) or "unexpected shape") from None
        except RecursionError:  # a reader that walks what it was given
            raise JsonError("too deep", "the answer nests too deeply to read") from None

    return read_json(response, fields)


def expect(kind: type[_T], payload: object, what: str = "the answer") -> _T:
    """`payload` if it is a `kind` (dict or list), else `FieldError`."""
    if isinstance(payload, kind):
        return payload
    expected = "an object" if kind is dict else "an array"
    raise FieldError(what, f"expected {expected}, got {describe(payload)}")
