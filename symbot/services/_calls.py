"""How every service talks to Symphony: one request path, one bounded reader, one error policy.

`Calls(client).json(...)` sends through the client's authenticated pod or agent client (tokens,
single-flight refresh on 401, the retry policy), reads the answer as a stream up to a size cap,
decodes it (the only place services decode JSON), checks its top-level type and turns refusals
into errors that name what the call was about:

- 404, a 204 ("nothing") to a lookup of one object, a 400 to a lookup by id → `NotFoundError`
  ("no such stream 'abc'");
- 403 → `ForbiddenError` ("the bot is not a member, or not entitled");
- anything else ≥ 400 → `ApiError` and its subclasses (`symbot.client.api_error`);
- an answer too large, not JSON, nested beyond reason, of the wrong shape, or with a field of
  the wrong type → `ApiError` saying "malformed answer" and where.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from symbot._fields import FieldError, describe
from symbot.client import SymphonyClient, api_error
from symbot.config import Role
from symbot.errors import ApiError, ForbiddenError, NotFoundError
from symbot.transport import send_with_retry

__all__ = ["MAX_ANSWER_BYTES", "Calls", "decode", "expect", "malformed", "url_safe_id"]

logger = logging.getLogger("symbot.services")

MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""The largest JSON answer a service reads (a page of 500 long messages fits many times)."""

_T = TypeVar("_T")
_DROPPED_HEADERS = frozenset(("content-encoding", "content-length", "transfer-encoding"))


def url_safe_id(identifier: str) -> str:
    """A message or stream id as Symphony's paths want it: URL-safe base64 without padding
    (ids from some sources come as standard base64, with `+`, `/` and `=`), quoted."""
    if not isinstance(identifier, str) or not identifier:
        raise ValueError(f"an id is a non-empty string, not {identifier!r}")
    return quote(identifier.replace("+", "-").replace("/", "_").rstrip("="), safe="")


def malformed(response: httpx.Response, problem: str) -> ApiError:
    """The error for an answer that cannot be used (logged once here, at WARNING)."""
    request = response.request
    logger.warning("malformed answer from %s %s: %s", request.method, request.url.path, problem)
    return ApiError(
        request.method, str(request.url), response.status_code, f"malformed answer: {problem}"
    )


class Calls:
    """The HTTP side of the services, for one `SymphonyClient`; see the module docstring."""

    def __init__(self, client: SymphonyClient) -> None:
        self.client = client

    async def send(
        self,
        role: Role,
        method: str,
        path: str,
        *,
        subject: str,
        lookup: bool = False,
        idempotent: bool = True,
        max_bytes: int = MAX_ANSWER_BYTES,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """The answer to `method path` (body read, at most `max_bytes`), or None for a 204
        that is not an error. `subject` names what the call is about, for errors; `lookup`
        marks a call that reads one object by id (see the module docstring)."""
        http = self.client.http(role)

        async def attempt() -> httpx.Response:
            request = http.build_request(method, path, **kwargs)
            return await _read_bounded(http, request, max_bytes)

        response = await send_with_retry(self.client.config.retry, attempt, idempotent=idempotent)
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
        response = await self.send(
            role, method, path, subject=subject, lookup=lookup, idempotent=idempotent, **kwargs
        )
        if response is not None:
            return decode(response, read)
        if empty is None:
            url = self.client.http(role).base_url.join(path)
            raise ApiError(method, str(url), 204, "malformed answer: no content")
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
    """The one JSON decoding of the services: the body (already bounded) as JSON, handed to
    `read`; anything unusable is a "malformed answer" `ApiError`."""
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise malformed(response, "not JSON") from None
    except RecursionError:
        raise malformed(response, "JSON nested too deeply") from None
    try:
        return read(payload)
    except FieldError as exc:
        raise malformed(response, str(exc) or "unexpected shape") from None
    except RecursionError:
        raise malformed(response, "JSON nested too deeply") from None


def expect(kind: type[_T], payload: object, what: str = "the answer") -> _T:
    """`payload` if it is a `kind` (dict or list), else `FieldError`."""
    if isinstance(payload, kind):
        return payload
    expected = "an object" if kind is dict else "an array"
    raise FieldError(what, f"expected {expected}, got {describe(payload)}")


async def _read_bounded(
    http: httpx.AsyncClient, request: httpx.Request, max_bytes: int
) -> httpx.Response:
    """Send `request` and read its body as a stream, refusing more than `max_bytes` (after
    decompression); the response returned holds the body read."""
    response = await http.send(request, stream=True)
    try:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise malformed(response, f"larger than {max_bytes} bytes; nothing more was read")
    finally:
        await response.aclose()
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in _DROPPED_HEADERS]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=request
    )
