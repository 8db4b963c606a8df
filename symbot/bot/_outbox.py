"""Sending messages: MessageML create over multipart, clear errors, a per-stream pace.

`Outbox.send(stream_id, message_ml, data)` posts to
`/agent/v4/stream/{sid}/message/create` as multipart/form-data (`message`, optional `data`
as an EntityJSON string) through the client's retry policy, which rides out 5xx and
network errors and honours 429 `Retry-After`. What it cannot ride out becomes an error
that says what to do (`symbot.client.api_error`): 400 → `MessageRejectedError` (the
MessageML is wrong), 451 → `ComplianceBlockedError` (a compliance policy blocked it),
429 → `RateLimitedError`, anything else → `ApiError`.

Escaping is not done here: callers pass MessageML built by `symbot.messages.to_message_ml`
(plain text escaped). The optional per-stream pace (`min_interval` seconds between two
sends into one stream) follows Symphony's advice of at most ~2 messages/s into a big room;
sends into different streams never wait for each other.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import anyio

from symbot.client import SymphonyClient
from symbot.errors import MalformedAnswerError, SymbotError
from symbot.messages import Message, parse_message

__all__ = ["Outbox"]

logger = logging.getLogger("symbot.bot")

_PRUNE_ABOVE = 10_000


class Outbox:
    """Sends MessageML into streams; one per bot (it holds the per-stream pacing state)."""

    def __init__(self, client: SymphonyClient, *, min_interval: float | None = None) -> None:
        self._client = client
        self._interval = min_interval if min_interval and min_interval > 0 else None
        self._next_slot: dict[str, float] = {}
        self.sent = 0

    async def send(
        self,
        stream_id: str,
        message_ml: str,
        data: Mapping[str, Any] | str | None = None,
    ) -> Message | None:
        """Post `message_ml` (already MessageML) into `stream_id`; the sent message as
        Symphony echoes it (its `reply()` sends through this outbox), or None if the echo
        could not be parsed. Raises `ApiError` subclasses as described in the module doc."""
        await self._wait_turn(stream_id)
        fields: dict[str, tuple[None, str]] = {"message": (None, message_ml)}
        if data is not None:
            fields["data"] = (None, data if isinstance(data, str) else json.dumps(data))
        path = f"/agent/v4/stream/{quote(stream_id, safe='')}/message/create"
        try:
            # Not idempotent: a retried 5xx could post the message twice.
            echo = await self._client.request_json(
                "agent", "POST", path, files=fields, idempotent=False
            )
        except MalformedAnswerError as exc:  # a 2xx: the message was sent, its echo is bad
            self.sent += 1
            logger.warning("message sent into %s, but %s", stream_id, exc)
            return None
        self.sent += 1
        return self._parse_sent(echo)

    def _parse_sent(self, echo: dict[str, Any]) -> Message | None:
        try:
            return parse_message(echo).with_replier(self.send)
        except (ValueError, SymbotError):
            logger.debug("message create answered a V4Message that did not parse", exc_info=True)
            return None

    async def _wait_turn(self, stream_id: str) -> None:
        """Reserve the next free slot of `stream_id` and sleep until it comes."""
        if self._interval is None:
            return
        now = anyio.current_time()
        slot = max(now, self._next_slot.get(stream_id, now))
        self._next_slot[stream_id] = slot + self._interval
        if len(self._next_slot) > _PRUNE_ABOVE:
            self._next_slot = {sid: t for sid, t in self._next_slot.items() if t > now}
        if slot > now:
            await anyio.sleep(slot - now)
