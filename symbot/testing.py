"""Test your bot against the in-process emulator: no pod, no sockets, both anyio backends.

```python
import pytest
from symbot import Bot, Message, command
from symbot.testing import BotHarness

class EchoBot(Bot):
    @command("/echo")
    async def echo(self, msg: Message, text: str) -> None:
        await msg.reply(text)

@pytest.mark.anyio
async def test_echo() -> None:
    async with BotHarness(EchoBot) as h:
        im = h.im("alice")                          # creates alice and her IM with the bot
        await h.say("alice", im, "/echo hi <there>")
        reply = await h.next_reply(im)
        assert reply.text == "hi <there>"
```

`BotHarness(bot_class)` starts an `Emulator`, registers the bot's user (with a generated
key), builds the bot with a `BotConfig` pointing at the emulator's in-process transport,
and serves it in a task group until the `async with` block ends (then `bot.stop()`).
Everything is reachable for finer checks: `h.emulator` (faults, counters, raw events),
`h.bot` (stats), `h.config`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

import anyio
from attrs import evolve

from symbot._lifecycle import AsyncResource
from symbot.auth import RsaJwtAuth
from symbot.bot import Bot
from symbot.config import BotConfig, BotSettings
from symbot.emulator import EmulatedUser, Emulator, SentMessage

__all__ = ["BotHarness", "ServedBot", "in_process_config"]

B = TypeVar("B", bound=Bot)


class ServedBot(AsyncResource, Generic[B]):
    """Serve `bot` in the background for an `async with` block, on any emulator or pod.

    Entering returns once the bot's datafeed is open (TimeoutError after `start_timeout`
    seconds); leaving stops it (`bot.stop(stop_timeout)`: handlers drain, the batch is
    acknowledged). `alive` is False once `serve()` has returned. A crash of the bot comes out
    of the block; the block's own exception (a failed assert) propagates as itself.
    """

    def __init__(
        self, bot: B, *, start_timeout: float = 10.0, stop_timeout: float | None = None
    ) -> None:
        self.bot = bot
        self.returned = False
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout

    @property
    def alive(self) -> bool:
        return not self.returned

    async def _serve(self) -> None:
        try:
            await self.bot.serve()
        finally:
            self.returned = True

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._serve, name=f"serve {type(self.bot).__name__}")
            with anyio.fail_after(self._start_timeout):
                await self.bot.started.wait()
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await self.bot.stop(self._stop_timeout)


class BotHarness(AsyncResource, Generic[B]):
    """A bot served against an in-process emulator; see the module docstring.

    `settings` overrides the bot's `BotSettings` (the harness default does not require a
    mention in rooms, so tests stay short); `emulator` lets a test pass one it configured
    (`Emulator(visibility_timeout=1)`); `configure` may adjust the `BotConfig` further.
    """

    def __init__(
        self,
        bot_class: Callable[..., B],
        *,
        username: str = "bot",
        emulator: Emulator | None = None,
        settings: BotSettings | None = None,
        configure: Callable[[BotConfig], BotConfig] | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.emulator = emulator if emulator is not None else Emulator()
        self.username = username
        self._start_timeout = start_timeout
        config = in_process_config(
            self.emulator, username, bot=settings or BotSettings(mention_required_in_rooms=False)
        )
        self._public_key = self.emulator.user(username).public_key_pem
        self.config = configure(config) if configure is not None else config
        self.bot: B = bot_class(self.config, transport=self.emulator.transport())
        self._served = ServedBot(self.bot, start_timeout=start_timeout)
        self._read: dict[str, int] = {}

    def _lifespan(self) -> AbstractAsyncContextManager[object]:
        return self._served

    # -- people and places -------------------------------------------------------------

    def _ensure_user(self, username: str) -> EmulatedUser:
        try:
            return self.emulator.user(username)
        except KeyError:  # people never log in: they share the bot's public key (no keygen)
            return self.emulator.add_user(username, public_key_pem=self._public_key)

    def user(self, username: str) -> EmulatedUser:
        """The emulated user `username`, created on first use (instantly: people created
        here never log in, so they get no key pair of their own)."""
        return self._ensure_user(username)

    def im(self, username: str) -> str:
        """The IM between `username` (created if needed) and the bot; its stream id."""
        self._ensure_user(username)
        return self.emulator.create_im(self.username, username)

    def room(self, name: str, members: Sequence[str]) -> str:
        """A room with `members` (created if needed) and the bot; its stream id."""
        for member in members:
            self._ensure_user(member)
        return self.emulator.create_room(name, [*members, self.username])

    # -- conversation ------------------------------------------------------------------

    async def say(
        self,
        username: str,
        stream_id: str,
        text: str,
        *,
        mentions: Sequence[str] = (),
        mention_bot: bool = False,
    ) -> dict[str, Any]:
        """`username` posts `text` into `stream_id` (mentioning the bot first if asked);
        returns the V4Message JSON. Async so a test yields to the bot between messages."""
        names = [self.username, *mentions] if mention_bot else list(mentions)
        sent = self.emulator.send(username, stream_id, text, mentions=names)
        await anyio.lowlevel.checkpoint()
        return sent

    def replies(self, stream_id: str) -> list[SentMessage]:
        """Every message the bot sent into `stream_id` so far, oldest first."""
        return [
            sent
            for sent in self.emulator.sent_messages()
            if sent.stream_id == stream_id and sent.sender == self.username
        ]

    async def next_reply(self, stream_id: str, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """The bot's next message in `stream_id` not yet returned by this method; waits up
        to `timeout` seconds (TimeoutError)."""
        seen = self._read.get(stream_id, 0)
        with anyio.fail_after(timeout):
            while True:
                replies = self.replies(stream_id)
                if len(replies) > seen:
                    self._read[stream_id] = seen + 1
                    return replies[seen]
                await anyio.sleep(0.01)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `condition()` holds, checking every 10 ms (TimeoutError after
        `timeout` seconds)."""
        with anyio.fail_after(timeout):
            while not condition():  # noqa: ASYNC110 - the emulator has no change hook
                await anyio.sleep(0.01)


def in_process_config(emulator: Emulator, username: str, **changes: Any) -> BotConfig:
    """A `BotConfig` for `username` (created with a generated key if needed) against
    `emulator` in-process, with `changes` applied (`bot=BotSettings(...)`, ...); build the
    bot with `transport=emulator.transport()`."""
    try:
        account = emulator.user(username)
    except KeyError:
        account = emulator.add_user(username)
    if account.private_key_pem is None:
        raise ValueError(f"emulated user {username!r} has no generated private key")
    config = BotConfig(
        pod_url=emulator.base_url,
        auth=RsaJwtAuth(username=username, private_key=account.private_key_pem),
    )
    return evolve(config, **changes)
