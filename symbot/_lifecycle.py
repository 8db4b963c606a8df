"""One way for an object to be an async context manager: write its `_lifespan()`.

A class derives from `AsyncResource` and writes `_lifespan()`, an `@asynccontextmanager`
generator that sets things up, yields once, and tears down after the `yield` (in `finally`,
or through the task groups and context managers it entered, which all see the real
exception of the `async with` body). `AsyncResource` runs it with an `AsyncExitStack`, so
`async with resource:` behaves like any context manager, except that it never swallows the
body's exception.

The exception of the body propagates as itself: when a task group wraps it alone in an
exception group (trio does), it is unwrapped; so is a single failure while entering.
Entering an object that is already entered is a `RuntimeError`.

Used by every symbot object with a lifetime (sessions, clients, bots served in tests, the
emulator and its servers), which is why the emulator may import it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Self

__all__ = ["AsyncResource"]


class AsyncResource:
    """Base class of objects used with `async with`; see the module docstring."""

    _lifespan_stack: AsyncExitStack | None = None
    _already_entered = "is already running; enter it once"
    """What entering it again says, after "this <class name>"."""

    def _lifespan(self) -> AbstractAsyncContextManager[object]:
        """Set up, yield once, tear down (an `@asynccontextmanager` method)."""
        raise NotImplementedError

    @property
    def entered(self) -> bool:
        """True between `__aenter__` and `__aexit__`."""
        return self._lifespan_stack is not None

    async def __aenter__(self) -> Self:
        if self._lifespan_stack is not None:
            raise RuntimeError(f"this {type(self).__name__} {self._already_entered}")
        stack = AsyncExitStack()
        try:
            await stack.enter_async_context(self._lifespan())
        except BaseExceptionGroup as group:
            leaf = _sole_leaf(group)
            if leaf is None:
                raise
            raise leaf from None  # one failure while starting: say it as itself
        self._lifespan_stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Tear down; never swallows the body's exception."""
        stack, self._lifespan_stack = self._lifespan_stack, None
        if stack is None:
            return
        try:
            await stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            if exc is None or _sole_leaf(group) is not exc:
                raise
            # the body's own error, wrapped by a task group: it propagates as itself


def _sole_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception inside `group` (through nested groups), or None if there are more."""
    inner: BaseException = group
    while isinstance(inner, BaseExceptionGroup):
        if len(inner.exceptions) != 1:
            return None
        inner = inner.exceptions[0]
    return inner
