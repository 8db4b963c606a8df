"""The emulated agent's datafeed v5 and message-create endpoints.

These handlers run after the app has authenticated the caller (`request.username` is set);
they never look at tokens. Refusals are answered in the agent's error shape
`{"code": status, "message": ...}`.
"""

from __future__ import annotations

import json
from typing import Any

from symbot.emulator._feeds import FEED_TYPE, AgentApiError, FeedInfo, FeedStore
from symbot.emulator._handling import caller, json_body, optional_string, routes_of
from symbot.emulator._http import Handler, Request, Response, Route
from symbot.emulator._multipart import parse_form_data
from symbot.emulator._streams import StreamStore

__all__ = ["agent_routes"]


def _feed_json(info: FeedInfo) -> dict[str, Any]:
    return {"id": info.feed_id, "type": FEED_TYPE}


def agent_routes(feeds: FeedStore, streams: StreamStore) -> list[Route]:
    """The agent routes served by the emulator, bound to its stores."""

    async def create_feed(request: Request) -> Response:
        tag = optional_string(json_body(request, dict, empty={}), "tag")
        return Response.json(201, _feed_json(feeds.create(caller(request), tag)))

    async def list_feeds(request: Request) -> Response:
        infos = feeds.list(caller(request), request.query_one("tag"))
        return Response.json(200, [_feed_json(info) for info in infos])

    async def delete_feed(request: Request) -> Response:
        feeds.delete(request.params["feed_id"], caller(request))
        return Response(204)

    async def read_feed(request: Request) -> Response:
        ack_id = optional_string(json_body(request, dict, empty={}), "ackId")
        batch = await feeds.read(caller(request), request.params["feed_id"], ack_id)
        return Response(200, batch.body(), (("content-type", "application/json"),))

    async def create_message(request: Request) -> Response:
        form = parse_form_data(request.header("content-type"), request.body)
        message_ml = form.fields.get("message")
        if message_ml is None:
            raise AgentApiError(400, "the multipart body has no 'message' field (MessageML)")
        sent = streams.send(
            caller(request),
            request.params["stream_id"],
            message_ml=message_ml,
            data=form.fields.get("data"),
            attachments=form.attachments(),
        )
        body = json.dumps(streams.v4_message(sent)).encode()
        return Response(200, body, (("content-type", "application/json"),))

    handlers: list[tuple[str, str, Handler]] = [
        ("POST", "/agent/v5/datafeeds", create_feed),
        ("GET", "/agent/v5/datafeeds", list_feeds),
        ("DELETE", "/agent/v5/datafeeds/{feed_id}", delete_feed),
        ("POST", "/agent/v5/datafeeds/{feed_id}/read", read_feed),
        ("POST", "/agent/v4/stream/{stream_id}/message/create", create_message),
    ]
    return routes_of(handlers)
