"""Sending messages: a per-stream pace in front of `symbot.services.Messages.send`.

`Outbox.send(stream_id, message_ml, data)` posts through `Messages.send` (the one place a
message is created: multipart/form-data to `/agent/v4/stream/{sid}/message/create`, the
retry policy, a bounded answer). What it cannot ride out becomes an error that says what to
do: 400 → `MessageRejectedError` (the MessageML is wrong), 451 → `ComplianceBlockedError`
(a compliance policy blocked it), 403 → `ForbiddenError` (the bot is not a member), 429 →
`RateLimitedError`, anything else → `ApiError`.

Escaping is not done here: callers pass MessageML built by `symbot.messages.to_message_ml`
(plain text escaped). The optional per-stream pace (`min_interval` seconds between two
sends into one stream) follows Symphony's advice of at most ~2 messages/s into a big room;
sends into different streams never wait for each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from symbot.messages import Message, markup
from symbot.services import Messages, Upload

__all__ = ["Outbox"]

_PRUNE_ABOVE = 10_000


class Outbox:
    """Sends MessageML into streams through `messages` (the bot's service); one per bot (it
    holds the per-stream pacing state)."""

    def __init__(self, messages: Messages, *, min_interval: float | None = None) -> None:
        self._messages = messages
        self._interval = min_interval if min_interval and min_interval > 0 else None
        self._next_slot: dict[str, float] = {}
        self.sent = 0

    async def send(
        self,
        stream_id: str,
        message_ml: str,
        data: Mapping[str, Any] | str | None = None,
        *,
        attachments: Sequence[Upload] = (),
    ) -> Message | None:
        """Post `message_ml` (already MessageML) into `stream_id`; the sent message as
        Symphony echoes it (its `reply()` sends through this outbox), or None if the echo
        could not be parsed. Raises `ApiError` subclasses as described in the module doc."""
        await self._wait_turn(stream_id)
        sent = await self._messages.send(
            stream_id, markup(message_ml), data=data, attachments=attachments
        )
        self.sent += 1
        return None if sent is None else sent.with_replier(self.send)

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
