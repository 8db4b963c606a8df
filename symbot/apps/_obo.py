"""`OboUser`: calls made as one user, by an app acting on the user's behalf.

Pod calls carry the user's OBO session token; agent calls carry it alone too, which the
agent specification allows for creating, blasting and updating messages ("the sessionToken
which was created for delegated app access"); there is no Key Manager token. A 401 renews
that user's session once (single-flight, the machinery of the bot's own tokens) and replays
the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from symbot.auth import AuthSession
from symbot.client import SessionInfo, SymphonyClient
from symbot.config import Role
from symbot.messages import Message, markup, to_message_ml
from symbot.services import Services

__all__ = ["OboUser"]


class OboUser(Services):
    """One user, as the app acts for them; made by `App.obo()` (or `Bot.obo()`).

    It has the services (`users`, `streams`, `messages`) as that user, and `request()` /
    `request_json()` for any other call."""

    def __init__(self, client: SymphonyClient, session: AuthSession, user: str) -> None:
        super().__init__(client, auth=session.auth)
        self._client = client
        self.session = session
        """The user's on-behalf-of session (its `health`, `logins`, ...)."""
        self.user = user
        """Who: the username, or "user id <n>"."""

    def __repr__(self) -> str:
        return f"OboUser({self.user!r})"

    async def request(self, role: Role, method: str, path: str, **options: Any) -> httpx.Response:
        """`SymphonyClient.request` as this user (same options, retries and errors), with
        the user's session token instead of the app's."""
        return await self._client.request(role, method, path, auth=self.session.auth, **options)

    async def request_json(self, role: Role, method: str, path: str, **options: Any) -> Any:
        """`SymphonyClient.request_json` as this user."""
        return await self._client.request_json(
            role, method, path, auth=self.session.auth, **options
        )

    async def session_info(self) -> SessionInfo:
        """The user the app acts for (id, username, display name)."""
        info: SessionInfo = await self.request_json(
            "pod", "GET", "/pod/v2/sessioninfo", shape=SessionInfo.from_json
        )
        return info

    async def send_message(
        self, stream_id: str, content: str, *, data: Mapping[str, Any] | str | None = None
    ) -> Message | None:
        """Send into `stream_id` as the user: a plain `str` is text (escaped), a `MessageML`
        value is markup; `data` is EntityJSON. Returns the message as Symphony echoes it
        (its `reply()` sends as the user too; None if the echo did not parse). Raises what
        `Bot.send_message` raises."""
        return await self._send_message_ml(stream_id, to_message_ml(content), data)

    async def _send_message_ml(
        self, stream_id: str, message_ml: str, data: Mapping[str, Any] | str | None
    ) -> Message | None:
        sent = await self.messages.send(stream_id, markup(message_ml), data=data)
        return None if sent is None else sent.with_replier(self._send_message_ml)
