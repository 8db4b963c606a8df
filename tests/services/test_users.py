"""Users: lookups by id, username and email (in batches), search as an async iterator."""

from __future__ import annotations

import pytest

from symbot.emulator import Emulator
from symbot.errors import NotFoundError
from symbot.services import UserInfo, Users

from .support import user_id

pytestmark = pytest.mark.anyio

LOOKUP = "/pod/v3/users"
SEARCH = "/pod/v1/user/search"


async def test_a_user_found_by_username_id_or_email_is_the_same_typed_user(
    users: Users, emu: Emulator
) -> None:
    by_name = await users.get_by_username("alice")
    assert by_name == UserInfo(
        user_id=user_id(emu, "alice"),
        username="alice",
        display_name="Alice Liddell",
        first_name="Alice",
        last_name="Liddell",
        email="alice@example.com",
        company="symbot emulator",
        account_type="SYSTEM",
        roles=("INDIVIDUAL",),
    )
    assert await users.get(by_name.user_id) == by_name
    assert await users.get_by_email("ALICE@example.com") == by_name


async def test_unknown_users_raise_not_found_naming_them(users: Users) -> None:
    with pytest.raises(NotFoundError, match="no such user 42"):
        await users.get(42)
    with pytest.raises(NotFoundError, match="no such user 'nobody'") as caught:
        await users.get_by_username("nobody")
    assert caught.value.subject == "user 'nobody'"


async def test_lookups_leave_unknown_entries_out_and_keep_the_order_found(
    users: Users, emu: Emulator
) -> None:
    ids = [user_id(emu, "bob"), 1, user_id(emu, "alice")]
    found = await users.list_by_ids(ids)
    assert [user.username for user in found] == ["bob", "alice"]
    assert await users.list_by_usernames(["carol", "zed"]) == [await users.get_by_username("carol")]
    assert await users.list_by_emails([]) == []


async def test_more_than_100_ids_go_in_batches_of_100(users: Users, emu: Emulator) -> None:
    key = emu.user("alice").public_key_pem
    names = [f"user{n:03}" for n in range(150)]
    for name in names:
        emu.add_user(name, public_key_pem=key)
    found = await users.list_by_ids([user_id(emu, name) for name in names])
    assert [user.username for user in found] == names
    assert len(emu.received_requests(LOOKUP)) == 2


async def test_username_lookups_are_local_and_the_flags_reach_the_pod(
    users: Users, emu: Emulator
) -> None:
    await users.list_by_usernames(["alice"])
    await users.list_by_ids([user_id(emu, "alice")], local=True, active=False)
    assert await users.list_by_emails(["alice@example.com"], active=False) == []
    assert len(emu.received_requests(LOOKUP)) == 3


async def test_ids_must_be_integers_and_values_without_commas(users: Users) -> None:
    with pytest.raises(TypeError, match="integers"):
        await users.list_by_ids(["42"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="comma"):
        await users.list_by_usernames(["alice,bob"])


async def test_search_pages_through_every_match(users: Users, emu: Emulator) -> None:
    key = emu.user("alice").public_key_pem
    for n in range(7):
        emu.add_user(f"trader{n}", display_name=f"Trader {n}", public_key_pem=key)
    found = [user.username async for user in users.search("trader", page_size=3)]
    assert found == [f"trader{n}" for n in range(7)]
    assert len(emu.received_requests(SEARCH)) == 3


async def test_search_stops_at_the_limit_without_asking_for_more(
    users: Users, emu: Emulator
) -> None:
    key = emu.user("alice").public_key_pem
    for n in range(7):
        emu.add_user(f"trader{n}", public_key_pem=key)
    found = [user.username async for user in users.search("trader", page_size=3, limit=4)]
    assert found == ["trader0", "trader1", "trader2", "trader3"]
    assert len(emu.received_requests(SEARCH)) == 2


async def test_search_with_no_match_or_filtered_out_yields_nothing(users: Users) -> None:
    assert [user async for user in users.search("nobody")] == []
    kept = [u async for u in users.search("alice", filters={"accountTypes": ["SYSTEM"]})]
    assert [user.username for user in kept] == ["alice"]
    assert [u async for u in users.search("alice", filters={"company": "Acme"})] == []


async def test_search_refuses_unknown_filters_and_bad_paging_at_once(users: Users) -> None:
    with pytest.raises(ValueError, match="unknown search filters"):
        users.search("x", filters={"colour": "red"})
    with pytest.raises(ValueError, match="page_size"):
        users.search("x", page_size=0)
    with pytest.raises(ValueError, match="limit"):
        users.search("x", limit=-1)
