"""`Messages`: read, send, update and suppress messages, and download their attachments."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import mimetypes
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from attrs import frozen

from symbot._fields import FieldError, opt_bool, opt_int, req_str
from symbot.client import SymphonyClient
from symbot.errors import MalformedAnswerError
from symbot.messages import Attachment, Message, parse_message, to_message_ml
from symbot.services._calls import Calls, decode, expect, url_safe_id
from symbot.services._paging import check_paging, since_pages
from symbot.transport import malformed

__all__ = ["MAX_ATTACHMENT_BYTES", "Messages", "Suppression", "Upload"]

logger = logging.getLogger("symbot.services")

MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
"""The largest attachment `download` accepts by default (decoded size)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Upload = tuple[str, bytes] | Path
"""A file to attach: `(file name, content)`, or the path of a file to read."""


@frozen
class Suppression:
    """The answer to a suppression: `suppressed_at` is epoch ms, or 0 when the message had
    already been suppressed before (Symphony's convention)."""

    message_id: str
    suppressed: bool
    suppressed_at: int | None = None


def _millis(moment: int | datetime, what: str) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError(f"{what} must be an aware datetime (with a tzinfo), or epoch ms")
        return (moment - _EPOCH) // timedelta(milliseconds=1)  # exact: no float rounding
    if isinstance(moment, bool) or not isinstance(moment, int) or moment < 0:
        raise ValueError(f"{what} must be a datetime or epoch milliseconds, not {moment!r}")
    return moment


def _message(payload: object, where: str = "") -> Message:
    try:
        return parse_message(expect(dict, payload, where or "the answer"))
    except ValueError as exc:
        raise FieldError(where, str(exc)) from None


def _message_list(payload: object) -> list[Message]:
    return [_message(item, f"[{index}]") for index, item in enumerate(expect(list, payload))]


def _suppression(payload: object) -> Suppression:
    raw = expect(dict, payload)
    return Suppression(
        req_str(raw, "messageId", ""),
        bool(opt_bool(raw, "suppressed", "")),
        opt_int(raw, "suppressionDate", ""),
    )


def _file_parts(attachments: Sequence[Upload]) -> list[tuple[str, tuple[str, bytes, str]]]:
    parts = []
    for upload in attachments:
        if isinstance(upload, Path):
            name, content = upload.name, upload.read_bytes()
        elif (
            isinstance(upload, tuple)
            and len(upload) == 2
            and isinstance(upload[0], str)
            and isinstance(upload[1], bytes | bytearray)
        ):
            name, content = upload[0], bytes(upload[1])
        else:
            raise TypeError(f"attach a Path or a (file name, bytes) pair, not {upload!r}")
        if not name:
            raise ValueError("an attachment needs a file name")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        parts.append(("attachment", (name, content, kind)))
    return parts


class Messages:
    """Messages and attachments, through `client`:
    its tokens, retries and guarded decoding.

    ```python
    messages = Messages(client)                          # in a bot: bot.messages
    sent = await messages.send(stream_id, "report attached", attachments=[Path("report.pdf")])
    await messages.update(stream_id, sent.message_id, bold("report attached (v2)"))
    async for msg in messages.history(stream_id, since=datetime.now(UTC) - timedelta(hours=1)):
        for attachment in msg.attachments:
            content = await messages.download(msg, attachment)
    ```

    Content follows `Bot.send_message`: a plain `str` is text (escaped), a `MessageML` value
    (builders, `markup()`) is markup. Endpoints: `GET /agent/v1/message/{id}`,
    `GET /agent/v4/stream/{sid}/message` (paged by time),
    `POST /agent/v4/stream/{sid}/message/create` and `/message/{mid}/update`
    (multipart/form-data), `POST /pod/v1/admin/messagesuppression/{id}/suppress`,
    `GET /agent/v1/stream/{sid}/attachment`
    (the content comes base64-encoded; `download` gives the bytes).
    """

    MAX_PAGE = 500
    """The largest page `GET /agent/v4/stream/{sid}/message` serves."""

    def __init__(self, client: SymphonyClient, *, auth: httpx.Auth | None = None) -> None:
        self._calls = Calls(client, auth=auth)

    async def get(self, message_id: str) -> Message:
        """The message `message_id`; `NotFoundError` if the agent has none (or the bot may
        not see it)."""
        return await self._calls.json(
            "agent",
            "GET",
            f"/agent/v1/message/{url_safe_id(message_id)}",
            subject=f"message {message_id!r}",
            read=_message,
            lookup=True,
        )

    def history(
        self,
        stream_id: str,
        *,
        since: int | datetime,
        until: int | datetime | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> AsyncIterator[Message]:
        """The messages of `stream_id` sent from `since` (to `until`), oldest first, page
        after page; times are aware datetimes or epoch milliseconds. Each message is seen
        once, even when many share a timestamp (the spec's since-and-skip paging)."""
        check_paging(page_size, limit, maximum=self.MAX_PAGE)
        start = _millis(since, "since")
        end = None if until is None else _millis(until, "until")
        path = f"/agent/v4/stream/{url_safe_id(stream_id)}/message"

        async def page(since_ms: int, skip: int, count: int) -> list[Message]:
            params: dict[str, Any] = {"since": since_ms, "skip": skip, "limit": count}
            if end is not None:
                params["until"] = end
            return await self._calls.json(
                "agent",
                "GET",
                path,
                subject=f"stream {stream_id!r}",
                read=_message_list,
                empty=list,
                lookup=True,
                params=params,
            )

        return since_pages(page, since=start, page_size=page_size, limit=limit)

    async def send(
        self,
        stream_id: str,
        content: str,
        *,
        data: Mapping[str, Any] | str | None = None,
        attachments: Sequence[Upload] = (),
    ) -> Message | None:
        """Post `content` into `stream_id`, with `data` (EntityJSON) and files. Returns the
        message as the agent echoes it, or None if the echo did not parse (it was sent).
        Raises `MessageRejectedError` (400: bad MessageML), `ComplianceBlockedError` (451),
        `ForbiddenError` (not a member), `ApiError`. Not retried after a 5xx, which may have
        posted it."""
        path = f"/agent/v4/stream/{url_safe_id(stream_id)}/message/create"
        return await self._post_message(path, f"stream {stream_id!r}", content, data, attachments)

    async def update(
        self,
        stream_id: str,
        message_id: str,
        content: str,
        *,
        data: Mapping[str, Any] | str | None = None,
        silent: bool | None = None,
        attachments: Sequence[Upload] = (),
    ) -> Message | None:
        """Replace message `message_id` (one the bot sent) with `content`. The new version
        has its own id (its `replacing` is the old one): update the latest version next
        time. `silent=False` marks it unread for the members. Returns the new version (None
        if its echo did not parse)."""
        path = f"/agent/v4/stream/{url_safe_id(stream_id)}/message/{url_safe_id(message_id)}/update"
        extra = {} if silent is None else {"silent": "true" if silent else "false"}
        subject = f"message {message_id!r} in stream {stream_id!r}"
        return await self._post_message(path, subject, content, data, attachments, extra)

    async def _post_message(
        self,
        path: str,
        subject: str,
        content: str,
        data: Mapping[str, Any] | str | None,
        attachments: Sequence[Upload],
        extra: Mapping[str, str] | None = None,
    ) -> Message | None:
        fields: list[tuple[str, Any]] = [("message", (None, to_message_ml(content)))]
        if data is not None:
            fields.append(("data", (None, data if isinstance(data, str) else json.dumps(data))))
        fields += [(name, (None, value)) for name, value in (extra or {}).items()]
        fields += _file_parts(attachments)
        try:
            response = await self._calls.send(
                "agent", "POST", path, subject=subject, idempotent=False, files=fields
            )
            return None if response is None else decode(response, _message)
        except MalformedAnswerError as exc:
            if not httpx.URL(exc.url).path.endswith(path):
                raise  # another call's answer (a login's): nothing was sent
            # A 2xx whose body is bad: the message was sent all the same.
            logger.warning("the message for %s was sent, but %s", subject, exc)
            return None

    async def suppress(self, message_id: str) -> Suppression:
        """Hide message `message_id` from everyone (the bot's own messages, or any with the
        Content Management role: else `ForbiddenError`)."""
        path = f"/pod/v1/admin/messagesuppression/{url_safe_id(message_id)}/suppress"
        return await self._calls.json(
            "pod", "POST", path, subject=f"message {message_id!r}", read=_suppression, lookup=True
        )

    async def download(
        self,
        message: Message,
        attachment: Attachment | str,
        *,
        max_bytes: int = MAX_ATTACHMENT_BYTES,
    ) -> bytes:
        """The content of `attachment` (or attachment id) of `message`."""
        attachment_id = attachment if isinstance(attachment, str) else attachment.attachment_id
        return await self.download_by_id(
            message.stream_id, message.message_id, attachment_id, max_bytes=max_bytes
        )

    async def download_by_id(
        self,
        stream_id: str,
        message_id: str,
        attachment_id: str,
        *,
        max_bytes: int = MAX_ATTACHMENT_BYTES,
    ) -> bytes:
        """The content of attachment `attachment_id` of message `message_id` in `stream_id`;
        an attachment larger than `max_bytes` is refused (`ApiError`) without being read
        further."""
        response = await self._calls.send(
            "agent",
            "GET",
            f"/agent/v1/stream/{url_safe_id(stream_id)}/attachment",
            subject=f"attachment {attachment_id!r} of message {message_id!r}",
            lookup=True,
            max_bytes=_encoded_size(max_bytes),
            params={"fileId": attachment_id, "messageId": url_safe_id(message_id)},
        )
        assert response is not None  # a lookup raises on 204
        return _base64_content(response, max_bytes)


def _encoded_size(size: int) -> int:
    """The most base64 text `size` bytes can take, with a line break every 76 characters."""
    encoded = (size + 2) // 3 * 4
    return encoded + encoded // 38 + 4


def _base64_content(response: httpx.Response, max_bytes: int) -> bytes:
    try:
        content = base64.b64decode(b"".join(response.content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise malformed(response, "undecodable", "the attachment is not base64-encoded") from None
    if len(content) > max_bytes:
        raise malformed(response, "too large", f"the attachment is larger than {max_bytes} bytes")
    return content
