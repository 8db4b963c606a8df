"""`Users`: who is who on the pod — lookups by id, username or email, and search."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import httpx
from attrs import frozen

from symbot._fields import FieldError, opt_int, opt_objects, opt_str, opt_strs
from symbot.client import SymphonyClient
from symbot.services._calls import Calls, expect
from symbot.services._paging import check_paging, offset_pages

__all__ = ["SEARCH_FILTERS", "UserInfo", "Users", "read_user_info"]

logger = logging.getLogger("symbot.services")

MAX_BATCH = 100
"""How many ids, usernames or emails one `GET /pod/v3/users` may carry (the spec's limit)."""

SEARCH_FILTERS = frozenset(
    (
        "accountTypes",
        "title",
        "company",
        "location",
        "marketCoverage",
        "responsibility",
        "function",
        "instrument",
    )
)
"""The filters `Users.search` accepts (UserSearchFilter)."""


@frozen
class UserInfo:
    """A user as the pod describes them (UserV2). Only `user_id` is always known; what else
    is filled in depends on the pod and on the user (external users show less)."""

    user_id: int
    username: str | None = None
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    title: str | None = None
    company: str | None = None
    department: str | None = None
    location: str | None = None
    account_type: str | None = None  # NORMAL, SYSTEM (a bot) or SDL
    roles: tuple[str, ...] = ()


def read_user_info(raw: Mapping[str, Any], where: str) -> UserInfo:
    """A UserV2 object → `UserInfo`; `FieldError` naming a faulty field."""
    user_id = opt_int(raw, "id", where)
    if user_id is None:
        raise FieldError(f"{where}.id", "missing")
    return UserInfo(
        user_id,
        opt_str(raw, "username", where),
        opt_str(raw, "displayName", where),
        opt_str(raw, "firstName", where),
        opt_str(raw, "lastName", where),
        opt_str(raw, "emailAddress", where),
        opt_str(raw, "title", where),
        opt_str(raw, "company", where),
        opt_str(raw, "department", where),
        opt_str(raw, "location", where),
        opt_str(raw, "accountType", where),
        opt_strs(raw, "roles", where),
    )


def _user_list(payload: object) -> list[UserInfo]:
    """V2UserList (`users`, `errors`) or UserSearchResults (`users`, `count`, ...)."""
    body = expect(dict, payload)
    refused = opt_objects(body, "errors", "")
    if refused:
        logger.debug("user lookup: the pod refused %d entries as invalid", len(refused))
    return [read_user_info(item, path) for item, path in opt_objects(body, "users", "")]


def _batches(values: Iterable[Any], what: str) -> list[list[str]]:
    items = [str(value) for value in values]
    for item in items:
        if not item or "," in item:
            raise ValueError(f"{what} {item!r} cannot be looked up (empty, or has a comma)")
    return [items[i : i + MAX_BATCH] for i in range(0, len(items), MAX_BATCH)]


def _some_of(values: list[str]) -> str:
    """The first few values, for an error message."""
    shown = ", ".join(values[:3])
    return shown if len(values) <= 3 else f"{shown} and {len(values) - 3} more"


def _user_ids(user_ids: Iterable[int]) -> list[int]:
    ids = list(user_ids)
    for user_id in ids:
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise TypeError(f"user ids are integers, not {type(user_id).__name__}: {user_id!r}")
    return ids


class Users:
    """User lookups and search on the pod, through `client`:
    its tokens, retries and guarded decoding.

    ```python
    users = Users(client)                       # in a bot: bot.users
    alice = await users.get_by_username("alice")
    people = await users.list_by_ids([alice.user_id, 349026222342002])
    async for user in users.search("jane", limit=20):
        print(user.display_name, user.email)
    ```

    Lookups use `GET /pod/v3/users` (up to 100 per request: longer lists are sent in batches),
    search `POST /pod/v1/user/search` (paged). `local=True` asks for users of the bot's own pod
    only; usernames exist only there, so username lookups are always local.
    """

    def __init__(self, client: SymphonyClient, *, auth: httpx.Auth | None = None) -> None:
        self._calls = Calls(client, auth=auth)

    async def _lookup(
        self, key: str, values: list[list[str]], local: bool, active: bool | None
    ) -> list[UserInfo]:
        found: list[UserInfo] = []
        for batch in values:
            params: dict[str, Any] = {key: ",".join(batch), "local": local}
            if active is not None:
                params["active"] = active
            found += await self._calls.json(
                "pod",
                "GET",
                "/pod/v3/users",
                subject=f"users with {key} {_some_of(batch)}",
                read=_user_list,
                empty=list,
                params=params,
            )
        return found

    async def list_by_ids(
        self, user_ids: Iterable[int], *, local: bool = False, active: bool | None = None
    ) -> list[UserInfo]:
        """The users with these ids, as found (unknown ids are left out). `active`: only
        active (True) or inactive (False) users; None: both."""
        batches = _batches(_user_ids(user_ids), "user id")
        return await self._lookup("uid", batches, local, active)

    async def list_by_usernames(
        self, usernames: Iterable[str], *, active: bool | None = None
    ) -> list[UserInfo]:
        """The users with these usernames (of the bot's pod), as found."""
        return await self._lookup("username", _batches(usernames, "username"), True, active)

    async def list_by_emails(
        self, emails: Iterable[str], *, local: bool = False, active: bool | None = None
    ) -> list[UserInfo]:
        """The users with these email addresses, as found."""
        return await self._lookup("email", _batches(emails, "email"), local, active)

    async def get(self, user_id: int, *, local: bool = False) -> UserInfo:
        """The user with id `user_id`; `NotFoundError` if the pod knows no such user."""
        return self._one(await self.list_by_ids([user_id], local=local), f"user {user_id}")

    async def get_by_username(self, username: str) -> UserInfo:
        """The user named `username`; `NotFoundError` if there is none."""
        return self._one(await self.list_by_usernames([username]), f"user {username!r}")

    async def get_by_email(self, email: str, *, local: bool = False) -> UserInfo:
        """The user with email address `email`; `NotFoundError` if there is none."""
        return self._one(await self.list_by_emails([email], local=local), f"user {email!r}")

    def _one(self, found: Sequence[UserInfo], subject: str) -> UserInfo:
        if not found:
            raise self._calls.not_found("pod", "GET", "/pod/v3/users", subject)
        return found[0]

    def search(
        self,
        query: str,
        *,
        local: bool = False,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> AsyncIterator[UserInfo]:
        """Users whose name or email matches `query`, page after page. `filters` narrow the
        search by the keys of `SEARCH_FILTERS` (`{"company": "Acme", "accountTypes":
        ["NORMAL"]}`); ValueError for another key."""
        check_paging(page_size, limit, maximum=1000)
        unknown = sorted(set(filters or {}) - SEARCH_FILTERS)
        if unknown:
            raise ValueError(f"unknown search filters {unknown}; use {sorted(SEARCH_FILTERS)}")
        body: dict[str, Any] = {"query": query}
        if filters:
            body["filters"] = {k: v if isinstance(v, str) else list(v) for k, v in filters.items()}

        async def page(skip: int, count: int) -> list[UserInfo]:
            return await self._calls.json(
                "pod",
                "POST",
                "/pod/v1/user/search",
                subject=f"users matching {query!r}",
                read=_user_list,
                empty=list,
                params={"skip": skip, "limit": count, "local": local},
                json=body,
            )

        return offset_pages(page, page_size=page_size, limit=limit)
