"""The paging of the services, over a list standing in for the pod's answers: every item
once, in order, and never a request more than needed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from attrs import frozen

from symbot.services._paging import offset_pages, since_pages

pytestmark = pytest.mark.anyio


@frozen
class Item:
    name: str
    timestamp: int


# Seven items share timestamp 20: a page boundary must fall inside them whatever the size.
ITEMS = [Item(f"i{n}", ts) for n, ts in enumerate([10, 20, 20, 20, 20, 20, 20, 20, 30, 40])]


class Server:
    """Answers like `GET /agent/v4/stream/{sid}/message`: from `since`, skip, limit."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, int, int]] = []

    async def messages(self, since: int, skip: int, limit: int) -> Sequence[Item]:
        self.requests.append((since, skip, limit))
        return [item for item in ITEMS if item.timestamp >= since][skip : skip + limit]

    async def offsets(self, skip: int, limit: int) -> Sequence[Item]:
        self.requests.append((0, skip, limit))
        return ITEMS[skip : skip + limit]


@pytest.mark.parametrize("page_size", range(1, 12))
async def test_since_pages_give_every_item_once_across_equal_timestamps(page_size: int) -> None:
    server = Server()
    seen = [
        item
        async for item in since_pages(server.messages, since=0, page_size=page_size, limit=None)
    ]
    assert seen == ITEMS
    assert len(server.requests) == len(ITEMS) // page_size + 1


@pytest.mark.parametrize("limit", [0, 1, 5, 10, 11])
async def test_since_pages_stop_at_the_limit(limit: int) -> None:
    server = Server()
    seen = [item async for item in since_pages(server.messages, since=15, page_size=3, limit=limit)]
    assert seen == ITEMS[1:][:limit]
    assert all(count <= 3 for _, _, count in server.requests)


@pytest.mark.parametrize("page_size", [1, 3, 10, 50])
async def test_offset_pages_give_every_item_once(page_size: int) -> None:
    server = Server()
    seen = [item async for item in offset_pages(server.offsets, page_size=page_size, limit=None)]
    assert seen == ITEMS
    assert [skip for _, skip, _ in server.requests] == list(range(0, len(ITEMS) + 1, page_size))


async def test_breaking_out_asks_for_nothing_more() -> None:
    server = Server()
    async for _ in offset_pages(server.offsets, page_size=2, limit=None):
        break
    assert len(server.requests) == 1
