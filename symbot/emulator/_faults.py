"""Fault injection: make chosen requests fail the way real networks and hostile servers fail.

A rule matches a request by path (`re.match` against the URL path, so a plain path acts as
a prefix and a regex works too) and optionally by method. A matching request gets, in order:
the rule's delay, then either an injected answer, a dropped connection (`DropConnection`),
or, for a delay-only rule, its normal answer. Faults apply before authentication, like a
proxy or load balancer in front of the real service.

An injected answer is a status (an error in Symphony's shape by default, with `Retry-After`
when given), or any answer at all, as a broken or hostile server would send it:

- `body`: bytes, text, or a `Body` generated chunk by chunk (`Body(repeat=b"[", times=10**6)`),
  so that a 512 MiB answer never sits in the emulator's memory;
- `content_type` (None: `application/json`; "": no Content-Type at all) and raw `headers`
  (any `Retry-After` string, a `Date`, ...);
- `truncate=n`: announce the whole body's length, send its first `n` bytes, then close the
  connection; `chunked=True`: no Content-Length (chunked framing on a socket).

A rule fires for the next `count` matching requests, or, with a `probability`, for each
matching request with that probability until `clear()` (for long reliability runs).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence

import anyio
from attrs import define, field, frozen

from symbot.emulator._asgi import DropConnection, Send

__all__ = ["Body", "Fault", "FaultInjector", "InjectedAnswer"]

CHUNK_BYTES = 64 * 1024


def _non_negative(_instance: object, attribute: object, value: int) -> None:
    if value < 0:
        raise ValueError(f"Body times={value} must not be negative")


@frozen
class Body:
    """An answer body made on the fly: `prefix`, `repeat` `times` times, then `suffix`.

    `Body(prefix=b'{"events":', repeat=b"[", times=200_000)` is 200 KB of nesting;
    `Body(repeat=b" ", times=512 << 20)` is 512 MiB of spaces, sent in 64 KiB chunks.
    """

    prefix: bytes = b""
    repeat: bytes = b""
    times: int = field(default=0, validator=_non_negative)
    suffix: bytes = b""

    @property
    def size(self) -> int:
        return len(self.prefix) + len(self.repeat) * self.times + len(self.suffix)

    def chunks(self, limit: int | None = None) -> Iterator[bytes]:
        """The body in chunks of about `CHUNK_BYTES`; only its first `limit` bytes if given."""
        left = self.size if limit is None else min(limit, self.size)
        for chunk in self._all_chunks():
            if left <= 0:
                return
            yield chunk[:left]
            left -= len(chunk)

    def _all_chunks(self) -> Iterator[bytes]:
        if self.prefix:
            yield self.prefix
        if self.repeat and self.times:
            per_chunk = max(1, CHUNK_BYTES // len(self.repeat))
            full, rest = divmod(self.times, per_chunk)
            block = self.repeat * per_chunk
            for _ in range(full):
                yield block
            if rest:
                yield self.repeat * rest
        if self.suffix:
            yield self.suffix


@frozen
class InjectedAnswer:
    """The answer a fault sends instead of the real one (see the module docstring)."""

    status: int
    body: Body
    headers: tuple[tuple[str, str], ...] = ()
    announce_length: bool = True
    truncate: int | None = None

    def undelivered(self) -> None:
        """An injected answer holds nothing to give back when it cannot be written."""

    async def send(self, send: Send, *, extra_headers: Sequence[tuple[str, str]] = ()) -> None:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in (*self.headers, *extra_headers)
        ]
        if self.announce_length:
            headers.append((b"content-length", str(self.body.size).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        for chunk in self.body.chunks(self.truncate):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if self.truncate is not None:
            raise DropConnection(f"answer truncated after {self.truncate} bytes")
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@define
class Fault:
    """One injection rule; `remaining` is None for a probability rule (never exhausted).
    `answer` is None for a drop or a delay-only rule."""

    pattern: re.Pattern[str]
    method: str | None
    delay: float
    drop: bool
    answer: InjectedAnswer | None
    remaining: int | None
    probability: float | None

    @property
    def status(self) -> int | None:
        return self.answer.status if self.answer is not None else None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.pattern.match(path) is not None

    def response(self) -> InjectedAnswer | None:
        """The injected answer, or None to let the request through (delay-only rules)."""
        if self.drop:
            raise DropConnection(f"fault injected on {self.pattern.pattern}")
        return self.answer


def _retry_after_text(value: float | str) -> str:
    """A `Retry-After` value as written: a string as it is, a number in plain decimal."""
    if isinstance(value, str):
        return value
    if value < 0:
        raise ValueError("retry_after= must not be negative (pass a string to send any text)")
    return f"{value:f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _answer(
    status: int | None,
    *,
    body: bytes | str | Body | None,
    content_type: str | None,
    headers: Sequence[tuple[str, str]],
    retry_after: float | str | None,
    truncate: int | None,
    chunked: bool,
    message: str | None = None,
) -> InjectedAnswer | None:
    """The answer a rule injects, or None when it injects none (drop, delay only)."""
    if status is None and body is None:
        return None
    status = 200 if status is None else status
    if body is None:  # an error in Symphony's shape
        said = message or f"fault injected by the emulator ({status})"
        body = json.dumps({"code": status, "message": said})
    made = body if isinstance(body, Body) else Body(prefix=_as_bytes(body))
    if truncate is not None and not 0 <= truncate < made.size:
        raise ValueError(f"truncate={truncate} must be below the body's size ({made.size})")
    all_headers = [] if content_type == "" else [("content-type", content_type or _JSON)]
    if retry_after is not None:
        all_headers.append(("retry-after", _retry_after_text(retry_after)))
    all_headers.extend(headers)
    return InjectedAnswer(
        status, made, tuple(all_headers), announce_length=not chunked, truncate=truncate
    )


_JSON = "application/json"


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


@define
class FaultInjector:
    """The live fault rules, consulted once per request in the order they were added."""

    rng: random.Random = field(factory=random.Random, repr=False)
    _rules: list[Fault] = field(factory=list, init=False)

    def add(
        self,
        path: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        count: int = 1,
        retry_after: float | str | None = None,
        method: str | None = None,
        probability: float | None = None,
        body: bytes | str | Body | None = None,
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        truncate: int | None = None,
        chunked: bool = False,
        message: str | None = None,
    ) -> Fault:
        """Add a rule; ValueError naming the argument when the rule makes no sense.
        `message` is what an injected status says (Symphony's `{"code", "message"}`)."""
        answers = status is not None or body is not None
        if answers and drop:
            raise ValueError("a fault either answers (status=, body=) or drops the connection")
        if not answers and not drop and delay <= 0:
            raise ValueError("a fault needs status=, body=, drop=True or a positive delay=")
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"status={status} is not an HTTP status code")
        if delay < 0:
            raise ValueError(f"delay={delay} must not be negative")
        if not answers and (retry_after is not None or headers or truncate is not None):
            raise ValueError("retry_after=, headers= and truncate= need a status= or a body=")
        if probability is not None and not 0.0 < probability <= 1.0:
            raise ValueError(f"probability={probability} must be in (0, 1]")
        if message is not None and (status is None or body is not None):
            raise ValueError("message= needs a status= and no body=")
        if probability is None and count < 1:
            raise ValueError(f"count={count} must be at least 1")
        try:
            pattern = re.compile(path)
        except re.error as exc:
            raise ValueError(f"fault path {path!r} is not a valid regex: {exc}") from None
        answer = _answer(
            status,
            body=body,
            content_type=content_type,
            headers=headers,
            retry_after=retry_after,
            truncate=truncate,
            chunked=chunked,
            message=message,
        )
        rule = Fault(
            pattern=pattern,
            method=method.upper() if method else None,
            delay=delay,
            drop=drop,
            answer=answer,
            remaining=None if probability is not None else count,
            probability=probability,
        )
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule, including probability rules."""
        self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        return list(self._rules)

    def take(self, method: str, path: str) -> Fault | None:
        """The rule that fires for this request, consuming one of its uses."""
        for rule in self._rules:
            if not rule.matches(method, path):
                continue
            if rule.probability is not None:
                if self.rng.random() < rule.probability:
                    return rule
                continue
            assert rule.remaining is not None
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            return rule
        return None

    async def apply(self, method: str, path: str) -> InjectedAnswer | None:
        """Run the fault for this request, if any: sleep its delay, then return the injected
        answer, raise DropConnection, or return None to serve the request normally."""
        rule = self.take(method, path)
        if rule is None:
            return None
        if rule.delay > 0:
            await anyio.sleep(rule.delay)
        return rule.response()
