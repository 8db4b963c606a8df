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
        reply.assert_text("hi <there>")
```

`BotHarness(bot_class)` starts an `Emulator`, registers the bot's user (with a generated
key), builds the bot with a `BotConfig` pointing at the emulator's in-process transport,
and serves it in a task group until the `async with` block ends (then `bot.stop()`).
Everything is reachable for finer checks: `h.emulator` (faults, counters, raw events),
`h.bot` (stats), `h.config`.

A `Reply` is the bot's message as the people in the conversation got it: its `text`,
`mentions` (usernames), `data` (EntityJSON, parsed) and stream, with assertions whose failure
says what was expected and what the bot sent (`assert_text`, `assert_contains`,
`assert_matches`, `assert_mentions`, `assert_data`, `assert_in`); each returns the reply, so
they chain.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

import anyio
from attrs import evolve, frozen

from symbot._lifecycle import AsyncResource
from symbot.auth import RsaJwtAuth
from symbot.bot import Bot
from symbot.config import BotConfig, BotSettings
from symbot.emulator import EmulatedUser, Emulator, SentMessage, StoredAttachment
from symbot.messages import mentions_from_data, parse_entity_json

__all__ = ["BotHarness", "Reply", "ServedBot", "in_process_config"]

B = TypeVar("B", bound=Bot)


@frozen
class Reply:
    """A message the bot sent, as the people in the conversation got it.

    `text` is what a person reads, `mentions` the usernames it mentions (in order), `data`
    its EntityJSON parsed (mention entities included), `where` the conversation in words
    ("the IM with alice", "the room #desk"). The `assert_*` methods raise AssertionError
    saying what was expected and quoting the reply; each returns the reply, so they chain:
    `reply.assert_contains("AAPL").assert_mentions("alice")`.
    """

    sent: SentMessage
    where: str
    mentions: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.sent.text

    @property
    def data(self) -> Mapping[str, Any]:
        return parse_entity_json(self.sent.data)

    @property
    def stream_id(self) -> str:
        return self.sent.stream_id

    @property
    def message_ml(self) -> str:
        """The MessageML the bot sent."""
        return self.sent.message_ml

    @property
    def presentation_ml(self) -> str:
        return self.sent.presentation_ml

    @property
    def message_id(self) -> str:
        return self.sent.message_id

    @property
    def attachments(self) -> tuple[StoredAttachment, ...]:
        """The files the bot attached (name, content type, content)."""
        return self.sent.attachments

    def assert_text(self, expected: str) -> Reply:
        """The text is exactly `expected` (what a person reads: markup gone, entities kept)."""
        return self._check(self.text == expected, f"text {expected!r}")

    def assert_contains(self, *fragments: str) -> Reply:
        """The text contains every one of `fragments`."""
        missing = [fragment for fragment in fragments if fragment not in self.text]
        return self._check(not missing, f"text containing {', '.join(map(repr, missing))}")

    def assert_matches(self, pattern: str) -> Reply:
        """The regular expression `pattern` matches somewhere in the text (`re.search`)."""
        return self._check(re.search(pattern, self.text) is not None, f"text matching {pattern!r}")

    def assert_mentions(self, *usernames: str) -> Reply:
        """The reply mentions exactly these users, in any order (none: no mention at all)."""
        expected = ", ".join(usernames) if usernames else "no one"
        return self._check(set(self.mentions) == set(usernames), f"mentions of {expected}")

    def assert_data(self, expected: Mapping[str, Any]) -> Reply:
        """The EntityJSON holds `expected`: every key with an equal value, where a mapping
        only needs to hold the keys it is compared with (`{"order": {"id": 7}}` matches
        an order entity that has more fields)."""
        return self._check(_holds(self.data, expected), f"data holding {expected!r}")

    def assert_in(self, stream_id: str) -> Reply:
        """The reply went to the conversation `stream_id`."""
        return self._check(self.stream_id == stream_id, f"a reply in stream {stream_id!r}")

    def _check(self, holds: bool, expected: str) -> Reply:
        if not holds:
            raise AssertionError(
                f"expected {expected} from the bot in {self.where}, but it sent:\n"
                f"  text:     {self.text!r}\n"
                f"  mentions: {', '.join(self.mentions) or 'none'}\n"
                f"  data:     {dict(self.data)!r}\n"
                f"  stream:   {self.stream_id}"
            )
        return self


def _holds(actual: object, expected: object) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and _holds(actual[key], value) for key, value in expected.items()
        )
    return actual == expected


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
    """A bot served against an in-process emulator for an `async with` block: `say()` as a
    user, `next_reply()` to read what the bot answered (a `Reply` with assertions), and the
    emulator (`h.emulator`) and bot (`h.bot`) at hand. See [Testing your bot](testing.md).

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

    def replies(self, stream_id: str) -> list[Reply]:
        """Every message the bot sent into `stream_id` so far, oldest first."""
        return [
            self._reply(sent)
            for sent in self.emulator.sent_messages()
            if sent.stream_id == stream_id and sent.sender == self.username
        ]

    def _reply(self, sent: SentMessage) -> Reply:
        directory = self.emulator.directory
        record = self.emulator.stream_store.stream(sent.stream_id)
        if record.room_name is not None:
            where = f"the room #{record.room_name}"
        else:
            others = [member for member in record.members if member != self.username]
            where = f"the IM with {', '.join(others) or 'itself'}"
        ids = mentions_from_data(parse_entity_json(sent.data))
        names = {user.user_id: user.username for user in directory}
        return Reply(sent, where, tuple(names.get(user_id, str(user_id)) for user_id in ids))

    async def next_reply(self, stream_id: str, timeout: float = 5.0) -> Reply:  # noqa: ASYNC109
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
