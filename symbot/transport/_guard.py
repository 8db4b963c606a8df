"""`AnswerGuard`: every answer's body is read as a stream, within a size limit.

Every httpx client `Transport` makes sends through an `AnswerGuard` wrapped around the real
transport (the network, or the emulator's in-process one), so no answer can be read whole
before it is measured: not a login answer, not a datafeed batch, not an error page, not one a
user's own `client.request(...)` gets.

- A successful (2xx) answer may carry at most `max_bytes` once decompressed, or what the
  request's `ANSWER_LIMIT` extension says (a call that expects more, such as an attachment
  download: `client.build_request(..., extensions={ANSWER_LIMIT: n})`). One that says it
  is larger (`Content-Length`) is refused before a byte is read; one that grows past the limit
  is refused as the byte that passes it arrives, and the rest is never read (the connection
  is closed). Either way the error is a `MalformedAnswerError` ("too large"), which
  `send_with_retry` and the datafeed loop handle as they handle a 5xx.
- Any other answer is only ever read for its error message: its first `ERROR_BODY_BYTES`
  are kept and the rest is dropped without a word, so an error never becomes another error.
- Compression is decoded here, not by httpx, so that the limit applies to what it inflates
  to (a "zip bomb" of a few KiB that inflates to gigabytes stops at the limit). The clients
  ask for `gzip` and `deflate` only (`ACCEPT_ENCODING`); an answer in another encoding, or a
  corrupt compressed stream, is "undecodable".
- A body that ends before the length its headers announced is "truncated". (On a socket,
  httpcore notices first and raises `httpx.RemoteProtocolError`, retried as network trouble;
  the guard also covers transports that do not check, such as an in-process one.)
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

from symbot.errors import MalformedAnswerError

__all__ = ["ACCEPT_ENCODING", "ANSWER_LIMIT", "ERROR_BODY_BYTES", "AnswerGuard"]

ACCEPT_ENCODING = "gzip, deflate"
ANSWER_LIMIT = "symbot.max_answer_bytes"
"""The request extension that sets one call's own limit, in bytes."""
ERROR_BODY_BYTES = 64 * 1024

_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
_DROPPED_HEADERS = frozenset({b"content-encoding", b"content-length"})


class AnswerGuard(httpx.AsyncBaseTransport):
    """Wraps `inner` so that every response body is read within `max_bytes`; see the module
    docstring. Closing the guard closes `inner`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, max_bytes: int) -> None:
        self._inner = inner
        self.max_bytes = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        headers = [
            (name, value)
            for name, value in response.headers.raw
            if name.lower() not in _DROPPED_HEADERS
        ]
        own = request.extensions.get(ANSWER_LIMIT)
        limit = own if type(own) is int and own > 0 else self.max_bytes
        named = "limits.max_answer_bytes" if limit == self.max_bytes else "the limit of this call"
        stream = _GuardedStream(request, response, encoding, limit, named)
        return httpx.Response(
            response.status_code, headers=headers, stream=stream, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _GuardedStream(httpx.AsyncByteStream):
    """The decoded body of `response`, bounded; see the module docstring."""

    def __init__(
        self,
        request: httpx.Request,
        response: httpx.Response,
        encoding: str,
        max_bytes: int,
        named: str,
    ) -> None:
        self._named = named
        self._request = request
        self._response = response
        self._encoding = encoding
        self._success = 200 <= response.status_code < 300
        self._limit = max_bytes if self._success else min(max_bytes, ERROR_BODY_BYTES)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        response = self._response
        raw = response.stream
        assert isinstance(raw, httpx.AsyncByteStream)
        announced = _announced_length(response)
        identity = self._encoding in ("identity", "")
        if self._success and identity and announced is not None and announced > self._limit:
            raise self._malformed(
                "too large",
                f"the body announces {announced:,} bytes, more than {self._named} allows "
                f"({self._limit:,}); raise it if this answer is legitimate",
            )
        inflater = None if identity else _Inflater.for_encoding(self._encoding)
        received = kept = 0
        try:
            async for chunk in raw:
                received += len(chunk)
                # At most one byte over the room left: enough to tell the limit is passed.
                data = chunk if inflater is None else inflater.inflate(chunk, self._limit - kept)
                if len(data) > self._limit - kept:
                    if self._success:
                        raise self._malformed(
                            "too large",
                            f"the body grows past {self._named} ({self._limit:,} bytes); "
                            "raise it if this answer is legitimate",
                        )
                    yield data[: self._limit - kept]
                    return  # an error's message is in its first bytes: drop the rest
                kept += len(data)
                if data:
                    yield data
        except _Undecodable as exc:
            if self._success:
                raise self._malformed("undecodable", str(exc)) from None
            return  # an error answer says nothing readable: an empty body
        if inflater is not None and not inflater.finished and self._success:
            raise self._malformed("truncated", f"the {self._encoding} stream ends early")
        if identity and announced is not None and received < announced and self._success:
            raise self._malformed(
                "truncated",
                f"the body ends after {received:,} of the {announced:,} bytes announced",
            )

    def _malformed(self, kind: str, detail: str) -> MalformedAnswerError:
        request = self._request
        status = self._response.status_code
        return MalformedAnswerError(request.method, str(request.url), status, kind, detail)

    async def aclose(self) -> None:
        await self._response.aclose()


class _Undecodable(Exception):
    pass


class _Inflater:
    """Inflates a gzip or deflate body, never more than it is asked for at a time."""

    def __init__(self, encoding: str, wbits: int) -> None:
        self._encoding = encoding
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    @classmethod
    def for_encoding(cls, encoding: str) -> _Inflater:
        wbits = _WBITS.get(encoding)
        if wbits is None:
            return _Refusing(encoding)
        return cls(encoding, wbits)

    @property
    def finished(self) -> bool:
        return self._zlib.eof

    def inflate(self, chunk: bytes, room: int) -> bytes:
        """What `chunk` inflates to, at most `room + 1` bytes."""
        try:
            data = self._zlib.decompress(chunk, room + 1)
        except zlib.error:
            if self._started or self._encoding != "deflate":
                raise _Undecodable(f"the {self._encoding} stream is corrupt") from None
            # "deflate" without its zlib wrapper, as some servers send it (httpx does the same)
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
            return self.inflate(chunk, room)
        self._started = True
        return data


class _Refusing(_Inflater):
    """An encoding symbot did not ask for (`ACCEPT_ENCODING`)."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding, zlib.MAX_WBITS)

    @property
    def finished(self) -> bool:
        return True  # an empty body says nothing in any encoding

    def inflate(self, chunk: bytes, room: int) -> bytes:
        raise _Undecodable(
            f"content encoding {self._encoding[:40]!r} was not asked for ({ACCEPT_ENCODING})"
        )


def _announced_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() and len(value) < 20 else None
