"""The emulated pod's user, stream, room and message-suppression endpoints.

- `GET /pod/v3/users` (uid, email or username lists of up to 100; `local`, `active`): a
  V2UserList, 204 when nobody matches; `POST /pod/v1/user/search`: UserSearchResults, paged.
- `POST /pod/v1/im/create`, `POST /pod/v3/room/create`, `GET /pod/v3/room/{id}/info`,
  `POST /pod/v3/room/{id}/update`, `GET /pod/v2/streams/{sid}/info`,
  `GET /pod/v2/room/{id}/membership/list`, `POST /pod/v1/room/{id}/membership/add|remove`,
  `POST /pod/v1/streams/list` (see `symbot.emulator._rooms`).
- `POST /pod/v1/admin/messagesuppression/{id}/suppress` (see `symbot.emulator._message_ops`).

Handlers run after the app checked the session token (`request.username` is set).
"""

from __future__ import annotations

from typing import Any

from symbot.emulator._directory import UserDirectory, UserRecord, to_user_v2
from symbot.emulator._feeds import AgentApiError
from symbot.emulator._handling import caller, json_body, query_bool, query_int, routes_of
from symbot.emulator._http import Handler, Request, Response, Route
from symbot.emulator._message_ops import MessageOperations
from symbot.emulator._rooms import Rooms

__all__ = ["pod_routes"]

MAX_LOOKUP = 100
"""How many ids, emails or usernames one `GET /pod/v3/users` may carry."""

_SUCCESS = {"format": "TEXT"}


def _lookup(directory: UserDirectory, request: Request) -> tuple[list[UserRecord], list[Any]]:
    """The users a `GET /pod/v3/users` names, and its `errors` (UserError)."""
    given = {key: request.query_one(key) for key in ("uid", "email", "username")}
    lists = {key: value.split(",") for key, value in given.items() if value}
    if len(lists) != 1:
        raise AgentApiError(400, "give exactly one of uid, email or username")
    [(key, values)] = lists.items()
    if len(values) > MAX_LOOKUP:
        raise AgentApiError(400, f"at most {MAX_LOOKUP} {key} values per request")
    found: list[UserRecord] = []
    errors: list[dict[str, str]] = []
    for value in (item.strip() for item in values):
        record: UserRecord | None = None
        if key == "uid":
            if not value.isdigit():
                errors.append({"error": "invalid.format", "id": value})
                continue
            record = directory.find_by_id(int(value))
        elif key == "email":
            if "@" not in value:
                errors.append({"error": "invalid.format", "email": value})
                continue
            record = directory.by_email(value)
        elif value in directory:
            record = directory.get(value)
        if record is not None and record not in found:
            found.append(record)
    return found, errors


def _matches_filters(user: dict[str, Any], filters: dict[str, Any]) -> bool:
    """UserSearchFilter against a UserV2: account types by list, other filters by the
    field of the same name (case-insensitive); a filter on a field the user lacks fails."""
    for key, wanted in filters.items():
        if wanted is None:
            continue
        if key == "accountTypes":
            if not isinstance(wanted, list) or user.get("accountType") not in wanted:
                return False
        elif not isinstance(wanted, str) or str(user.get(key, "")).casefold() != wanted.casefold():
            return False
    return True


def pod_routes(rooms: Rooms, messages: MessageOperations) -> list[Route]:
    """The pod routes served by the emulator, bound to its state."""
    directory = rooms.directory

    async def users(request: Request) -> Response:
        found, errors = _lookup(directory, request)
        if query_bool(request, "active") is False:  # every emulated user is active
            found = []
        query_bool(request, "local")  # every emulated user is local; checked for its format
        if not found:
            return Response(204)
        body: dict[str, Any] = {"users": [to_user_v2(user) for user in found]}
        if errors:
            body["errors"] = errors
        return Response.json(200, body)

    async def search(request: Request) -> Response:
        query = json_body(request, dict)
        text, filters = query.get("query"), query.get("filters") or {}
        if not isinstance(text, str) or not isinstance(filters, dict):
            raise AgentApiError(400, "searchRequest needs a query string and a filters object")
        skip = query_int(request, "skip", 0) or 0
        limit = query_int(request, "limit", 50) or 0
        query_bool(request, "local")
        matched = [to_user_v2(user) for user in directory.search(text)]
        matched = [user for user in matched if _matches_filters(user, filters)]
        if not matched:
            return Response(204)
        page = matched[skip : skip + limit]
        body = {"count": len(matched), "skip": skip, "limit": len(page), "searchQuery": query}
        return Response.json(200, {**body, "users": page})

    async def create_im(request: Request) -> Response:
        stream_id = rooms.create_im(caller(request), json_body(request, list))
        return Response.json(200, {"id": stream_id})

    async def create_room(request: Request) -> Response:
        record = rooms.create_room(caller(request), json_body(request, dict))
        return Response.json(200, rooms.room_detail(record))

    async def room_info(request: Request) -> Response:
        record = rooms.room_for(caller(request), request.params["id"], visible=True)
        return Response.json(200, rooms.room_detail(record))

    async def update_room(request: Request) -> Response:
        body = json_body(request, dict)
        record = rooms.update_room(caller(request), request.params["id"], body)
        return Response.json(200, rooms.room_detail(record))

    async def stream_info(request: Request) -> Response:
        return Response.json(200, rooms.stream_info(caller(request), request.params["sid"]))

    async def members(request: Request) -> Response:
        return Response.json(200, rooms.members(caller(request), request.params["id"]))

    async def add_member(request: Request) -> Response:
        user_id = json_body(request, dict).get("id")
        rooms.add_member(caller(request), request.params["id"], user_id)
        return Response.json(200, {**_SUCCESS, "message": "Member added"})

    async def remove_member(request: Request) -> Response:
        user_id = json_body(request, dict).get("id")
        rooms.remove_member(caller(request), request.params["id"], user_id)
        return Response.json(200, {**_SUCCESS, "message": "Member removed"})

    async def list_streams(request: Request) -> Response:
        skip = query_int(request, "skip", 0) or 0
        limit = query_int(request, "limit", 50) or 0
        body = json_body(request, dict, empty={})
        return Response.json(200, rooms.list_streams(caller(request), body, skip, limit))

    async def suppress(request: Request) -> Response:
        return Response.json(200, messages.suppress(caller(request), request.params["id"]))

    handlers: list[tuple[str, str, Handler]] = [
        ("GET", "/pod/v3/users", users),
        ("POST", "/pod/v1/user/search", search),
        ("POST", "/pod/v1/im/create", create_im),
        ("POST", "/pod/v3/room/create", create_room),
        ("GET", "/pod/v3/room/{id}/info", room_info),
        ("POST", "/pod/v3/room/{id}/update", update_room),
        ("GET", "/pod/v2/streams/{sid}/info", stream_info),
        ("GET", "/pod/v2/room/{id}/membership/list", members),
        ("POST", "/pod/v1/room/{id}/membership/add", add_member),
        ("POST", "/pod/v1/room/{id}/membership/remove", remove_member),
        ("POST", "/pod/v1/streams/list", list_streams),
        ("POST", "/pod/v1/admin/messagesuppression/{id}/suppress", suppress),
    ]
    return routes_of(handlers)
