"""Typed pod and agent services on a `SymphonyClient`: users, streams and rooms, messages.

```python
async with SymphonyClient(config) as client:      # or, in a bot: bot.users, bot.streams, ...
    users, streams = Users(client), Streams(client)
    alice = await users.get_by_username("alice")
    im = await streams.create_im(alice.user_id)
    await Messages(client).send(im, "Hello Alice")
```

Every call goes through the client (tokens, single-flight refresh on 401, the retry policy),
reads a bounded answer and returns frozen, typed values. Refusals name what they are about:
`NotFoundError` ("no such stream 'abc'"), `ForbiddenError` (the bot is not a member, or not
entitled), else `ApiError`. Where the API pages, the service gives an async iterator.

May import: `symbot.client`, `symbot.messages`, `symbot.datafeed` (types), `symbot.config`,
`symbot.transport` (the retry policy), `symbot.errors`.
"""

from __future__ import annotations

import httpx

from symbot.client import SymphonyClient
from symbot.services._calls import url_safe_id
from symbot.services._messages import MAX_ATTACHMENT_BYTES, Messages, Suppression, Upload
from symbot.services._streams import (
    Member,
    RoomChanges,
    RoomInfo,
    RoomSettings,
    StreamInfo,
    Streams,
)
from symbot.services._users import SEARCH_FILTERS, UserInfo, Users

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "SEARCH_FILTERS",
    "Member",
    "Messages",
    "RoomChanges",
    "RoomInfo",
    "RoomSettings",
    "Services",
    "StreamInfo",
    "Streams",
    "Suppression",
    "Upload",
    "UserInfo",
    "Users",
    "url_safe_id",
]


class Services:
    """The services of one client, built together (a bot builds one when it starts). `auth`
    replaces the client's own tokens (an app acting for a user: `symbot.apps.OboUser`)."""

    def __init__(self, client: SymphonyClient, *, auth: httpx.Auth | None = None) -> None:
        self.users = Users(client, auth=auth)
        self.streams = Streams(client, auth=auth)
        self.messages = Messages(client, auth=auth)
