"""Pagination as async iterators: the services page, the caller just iterates.

```python
async for user in bot.users.search("jane", limit=200):
    ...
```

`page_size` is how many items one request asks for (the API's own maximum applies), `limit`
how many the iteration yields at most in all (None: until the API has no more). Pages are
fetched one at a time, when the previous one is used up; breaking out of the loop fetches
nothing more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["Timed", "check_paging", "offset_pages", "since_pages"]

_T = TypeVar("_T")


class Timed(Protocol):
    @property
    def timestamp(self) -> int: ...


_M = TypeVar("_M", bound=Timed)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_paging(page_size: int, limit: int | None, maximum: int) -> None:
    """ValueError naming the argument unless 1 <= page_size <= maximum and limit >= 0."""
    if not _is_int(page_size) or not 1 <= page_size <= maximum:
        raise ValueError(f"page_size must be an integer from 1 to {maximum}, not {page_size!r}")
    if limit is not None and (not _is_int(limit) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None, not {limit!r}")


async def offset_pages(
    fetch: Callable[[int, int], Awaitable[Sequence[_T]]],
    *,
    page_size: int,
    limit: int | None,
) -> AsyncIterator[_T]:
    """Items of `await fetch(skip, count)` pages, in order, until a page comes back short
    (or empty) or `limit` items were yielded."""
    skip = 0
    yielded = 0
    while limit is None or yielded < limit:
        count = page_size if limit is None else min(page_size, limit - yielded)
        page = (await fetch(skip, count))[:count]
        for item in page:
            yield item
            yielded += 1
        if len(page) < count:
            return
        skip += len(page)


async def since_pages(
    fetch: Callable[[int, int, int], Awaitable[Sequence[_M]]],
    *,
    since: int,
    page_size: int,
    limit: int | None,
) -> AsyncIterator[_M]:
    """Items of `await fetch(since, skip, count)` pages, oldest first: each next page asks
    from the last timestamp seen, skipping the items already seen with that timestamp (so
    none is missed or repeated however many share one), until a page comes back short."""
    skip = 0
    yielded = 0
    while limit is None or yielded < limit:
        count = page_size if limit is None else min(page_size, limit - yielded)
        page = (await fetch(since, skip, count))[:count]
        for item in page:
            yield item
            yielded += 1
        if len(page) < count:
            return
        last = page[-1].timestamp
        same = sum(1 for item in page if item.timestamp == last)
        skip = skip + same if last == since else same
        since = last
