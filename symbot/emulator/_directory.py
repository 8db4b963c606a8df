"""The emulated pod's user directory: who exists, their ids, and how they appear in JSON.

Every other part of the emulator (login, feeds, streams) names users by username; this module
is the one place that maps usernames to the numeric ids and profiles a real pod would serve.
User ids are allocated like a real pod's: a large pod-specific prefix plus a sequence number,
so ids exceed 2**32 and catch clients that truncate them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from attrs import define, evolve, field, frozen

__all__ = ["FIRST_USER_ID", "UserDirectory", "UserRecord", "to_user_v2", "to_v4_user"]

FIRST_USER_ID = 349026222342001
"""The id of the first user added; later users get consecutive ids."""


@frozen
class UserRecord:
    """One user of the emulated pod, as the pod's directory knows it."""

    user_id: int
    username: str
    display_name: str
    first_name: str
    last_name: str
    email: str
    roles: frozenset[str] = frozenset({"INDIVIDUAL"})


@define
class UserDirectory:
    """Users by username and by id. Not thread-safe; the emulator runs on one event loop."""

    _by_username: dict[str, UserRecord] = field(factory=dict, init=False)
    _by_id: dict[int, UserRecord] = field(factory=dict, init=False)
    _next_id: int = field(default=FIRST_USER_ID, init=False)

    def add(
        self,
        username: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> UserRecord:
        """Register a user and allocate its id.

        Missing profile fields get plausible defaults: the display name is the username,
        first/last names are split from the display name, the email is `<username>@example.com`.
        Raises ValueError for an empty or already registered username.
        """
        if not username or username != username.strip():
            raise ValueError(f"invalid username {username!r}: use a non-empty name without spaces")
        if username in self._by_username:
            raise ValueError(f"user {username!r} already exists in the emulator; pick another name")
        display = display_name if display_name is not None else username
        default_first, _, default_last = display.partition(" ")
        record = UserRecord(
            user_id=self._next_id,
            username=username,
            display_name=display,
            first_name=first_name if first_name is not None else default_first,
            last_name=last_name if last_name is not None else default_last,
            email=email if email is not None else f"{username}@example.com",
        )
        self._next_id += 1
        self._by_username[username] = record
        self._by_id[record.user_id] = record
        return record

    def get(self, username: str) -> UserRecord:
        """The user named `username`; KeyError naming the user if it was never added."""
        try:
            return self._by_username[username]
        except KeyError:
            raise KeyError(
                f"no user {username!r} in the emulator; add it first with add_user({username!r})"
            ) from None

    def by_id(self, user_id: int) -> UserRecord:
        """The user with id `user_id`; KeyError naming the id if no such user exists."""
        try:
            return self._by_id[user_id]
        except KeyError:
            raise KeyError(f"no user with id {user_id} in the emulator") from None

    def find_by_id(self, user_id: int) -> UserRecord | None:
        """The user with id `user_id`, if any."""
        return self._by_id.get(user_id)

    def by_email(self, email: str) -> UserRecord | None:
        """The user with this email address (case-insensitive), if any."""
        wanted = email.casefold()
        return next((u for u in self._by_username.values() if u.email.casefold() == wanted), None)

    def grant_role(self, username: str, role: str) -> UserRecord:
        """Give `username` the pod role `role` (e.g. "CONTENT_MANAGEMENT")."""
        record = evolve(self.get(username), roles=self.get(username).roles | {role})
        self._by_username[username] = self._by_id[record.user_id] = record
        return record

    def search(self, query: str) -> list[UserRecord]:
        """The users whose username, names or email contain `query` (case-insensitive),
        in the order they were added."""
        wanted = query.casefold().strip()
        return [
            record
            for record in self._by_username.values()
            if wanted
            and any(
                wanted in text.casefold()
                for text in (
                    record.username,
                    record.display_name,
                    record.first_name,
                    record.last_name,
                    record.email,
                )
            )
        ]

    def __contains__(self, username: object) -> bool:
        return username in self._by_username

    def __iter__(self) -> Iterator[UserRecord]:
        return iter(list(self._by_username.values()))

    def __len__(self) -> int:
        return len(self._by_username)


def to_v4_user(record: UserRecord) -> dict[str, Any]:
    """The user as a V4User JSON object (event initiators, message senders)."""
    return {
        "userId": record.user_id,
        "firstName": record.first_name,
        "lastName": record.last_name,
        "displayName": record.display_name,
        "email": record.email,
        "username": record.username,
    }


def to_user_v2(record: UserRecord) -> dict[str, Any]:
    """The user as a UserV2 JSON object (session info, user lookups and search)."""
    return {
        "id": record.user_id,
        "username": record.username,
        "displayName": record.display_name,
        "firstName": record.first_name,
        "lastName": record.last_name,
        "emailAddress": record.email,
        "company": "symbot emulator",
        "accountType": "SYSTEM",
        "roles": sorted(record.roles),
    }
