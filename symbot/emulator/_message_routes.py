"""The emulated agent's endpoints for existing messages and attachments.

- `GET /agent/v1/message/{id}`: a V4Message; 204 for a message that does not exist or was
  suppressed.
- `GET /agent/v4/stream/{sid}/message?since=&until=&skip=&limit=`: a V4MessageList (limit
  50 by default, at most 500; `since` required).
- `POST /agent/v4/stream/{sid}/message/{mid}/update` (multipart/form-data, like create): the
  new version, a V4Message whose `replacing` is the old id.
- `GET /agent/v1/stream/{sid}/attachment?fileId=&messageId=`: the file, base64-encoded, as
  `application/octet-stream`.

Handlers run after the app checked both tokens (`request.username` is set); the rules are in
`symbot.emulator._message_ops`.
"""

from __future__ import annotations

import base64

from symbot.emulator._feeds import AgentApiError
from symbot.emulator._handling import caller, query_int, routes_of
from symbot.emulator._http import Handler, Request, Response, Route
from symbot.emulator._message_ops import MessageOperations
from symbot.emulator._multipart import parse_form_data

__all__ = ["MAX_HISTORY_PAGE", "message_routes"]

MAX_HISTORY_PAGE = 500
"""The largest `limit` of `GET /agent/v4/stream/{sid}/message`."""


def message_routes(messages: MessageOperations) -> list[Route]:
    """The message routes served by the emulator, bound to its state."""
    store = messages.store

    async def get_message(request: Request) -> Response:
        sent = messages.visible(caller(request), request.params["id"])
        if sent is None:
            return Response(204)
        return Response.json(200, store.v4_message(sent))

    async def history(request: Request) -> Response:
        since = query_int(request, "since", None)
        if since is None:
            raise AgentApiError(400, "since (epoch milliseconds) is required")
        found = messages.history(
            caller(request),
            request.params["sid"],
            since,
            query_int(request, "until", None),
            query_int(request, "skip", 0) or 0,
            query_int(request, "limit", 50, maximum=MAX_HISTORY_PAGE) or 0,
        )
        return Response.json(200, found)

    async def update(request: Request) -> Response:
        form = parse_form_data(request.header("content-type"), request.body)
        sent = messages.update(
            caller(request),
            request.params["sid"],
            request.params["mid"],
            form.fields,
            form.attachments(),
        )
        return Response.json(200, store.v4_message(sent))

    async def attachment(request: Request) -> Response:
        found = messages.attachment(
            caller(request),
            request.params["sid"],
            request.query_one("messageId"),
            request.query_one("fileId"),
        )
        body = base64.b64encode(found.content)
        return Response(200, body, (("content-type", "application/octet-stream"),))

    handlers: list[tuple[str, str, Handler]] = [
        ("GET", "/agent/v1/message/{id}", get_message),
        ("GET", "/agent/v4/stream/{sid}/message", history),
        ("POST", "/agent/v4/stream/{sid}/message/{mid}/update", update),
        ("GET", "/agent/v1/stream/{sid}/attachment", attachment),
    ]
    return routes_of(handlers)
