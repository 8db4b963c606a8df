"""The demo's stage: a served emulator, a bot account with its own key, people, and DeskBot.

`Stage` sets everything up the way a newcomer would for real, only faster: a key pair
(2048 bits here, for speed; `symbot keygen` makes 4096-bit keys), its public key registered
on the pod as an administrator would, a `symbot.toml` written and loaded with
`BotConfig.from_file`, and the bot served over HTTPS on loopback against the emulator's CA.
People then talk (`say`), and the stage prints every message the bot sends.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
from anyio.abc import TaskGroup
from attrs import frozen

from symbot._lifecycle import AsyncResource
from symbot.auth import generate_key_pair, write_private_key
from symbot.config import BotConfig
from symbot.datafeed import MessageSentEvent
from symbot.demo._bot import DeskBot
from symbot.demo._transcript import Transcript, TranscriptHandler
from symbot.emulator import Emulator

__all__ = ["BOT", "KM_LOGIN", "POD_LOGIN", "Counts", "Stage"]

BOT = "deskbot"
BOT_DISPLAY_NAME = "DeskBot"
PEOPLE = {"alice": "Alice Chen", "bob": "Bob Martin", "carol": "Carol Diaz"}
POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
DEMO_KEY_BITS = 2048


@frozen
class Counts:
    """What the emulator (the server side) has seen so far."""

    pod_logins: int
    km_logins: int
    unauthorized: int

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.pod_logins - other.pod_logins,
            self.km_logins - other.km_logins,
            self.unauthorized - other.unauthorized,
        )


class Stage(AsyncResource):
    """See the module docstring. `token_lifetime` (seconds) is how long the emulator's
    tokens live, so the background renewal shows within the demo."""

    def __init__(self, transcript: Transcript, *, token_lifetime: float = 5.0) -> None:
        self.transcript = transcript
        self.token_lifetime = token_lifetime
        self.emulator = Emulator(
            session_token_lifetime=token_lifetime, km_token_lifetime=token_lifetime
        )
        self.bot: DeskBot | None = None
        self.im = self.room = ""
        self.places: dict[str, str] = {}
        self.sent_to_bot: list[str] = []
        """Ids of the messages people sent where the bot can see them."""
        self.seen_by_bot: set[str] = set()
        self.replies_missing = 0
        self.feeds_deleted = 0
        self._printed = 0
        self._task_group: TaskGroup | None = None

    # -- setting up ---------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await self._set_up(stack)
            try:
                yield
            finally:
                if self.bot is not None:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(15):
                        await self.bot.stop()
                self._print_new()
                if self._task_group is not None:
                    self._task_group.cancel_scope.cancel()

    async def _set_up(self, stack: AsyncExitStack) -> None:
        note, emu = self.transcript.note, self.emulator
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="symbot-")))
        note("setup", "starting the Symphony emulator on 127.0.0.1")
        await stack.enter_async_context(emu)
        self.transcript.shorten.append(emu.https_url)
        note("setup", f"pod, key manager and agent at {emu.https_url} (TLS, the emulator's CA)")
        note(
            "setup",
            f"generating a {DEMO_KEY_BITS}-bit RSA key pair for {BOT} "
            "(small for speed; `symbot keygen` makes 4096-bit keys)",
        )
        pair = generate_key_pair(DEMO_KEY_BITS)
        key_path = workdir / f"{BOT}-private-key.pem"
        write_private_key(key_path, pair.private_key_pem)
        emu.add_user(BOT, display_name=BOT_DISPLAY_NAME, public_key_pem=pair.public_key_pem)
        note("setup", f"public key registered on the pod for {BOT}, as an administrator would")
        config_path = workdir / "symbot.toml"
        # the pod's session lifetime, known to its deployer: renew ahead of it, not at a 401
        policy = f"max_token_age = {self.token_lifetime:g}\n\n[auth]"
        toml = emu.bot_config_toml(BOT, key_path).replace("\n[auth]", policy, 1)
        config_path.write_text(toml, encoding="utf-8")
        config = BotConfig.from_file(config_path, env={})
        note("setup", f"wrote and loaded {config_path.name}: RSA login as {BOT}, key mode 0600")
        for username, display_name in PEOPLE.items():
            emu.add_user(username, display_name=display_name)
        self.im = emu.create_im(BOT, "alice")
        self.room = emu.create_room("trading", ["alice", "bob", BOT])
        self.places = {self.im: "IM", self.room: "#trading"}
        note("setup", "people: alice, bob, carol; an IM alice ↔ deskbot; the room #trading")
        note(
            "setup",
            f"sessions live {self.token_lifetime:g} s on this emulator (a pod: hours), and "
            "max_token_age says so",
        )

        self.bot = DeskBot(config)
        seen = self.seen_by_bot

        @self.bot.on_event(MessageSentEvent)
        async def record(event: MessageSentEvent) -> None:
            seen.add(event.message.message_id)

        self._watch_logs(stack)
        note("setup", f"starting {BOT}: login, who am I, datafeed")
        task_group = await stack.enter_async_context(anyio.create_task_group())
        self._task_group = task_group
        task_group.start_soon(self.bot.serve)
        task_group.start_soon(self._follow)
        with anyio.fail_after(30):
            await self.bot.started.wait()

    def _watch_logs(self, stack: AsyncExitStack) -> None:
        handler = TranscriptHandler(self.transcript)
        symbot_logger = logging.getLogger("symbot")
        previous = symbot_logger.level
        symbot_logger.addHandler(handler)
        symbot_logger.setLevel(logging.DEBUG)

        def restore() -> None:
            symbot_logger.removeHandler(handler)
            symbot_logger.setLevel(previous)

        stack.callback(restore)

    # -- the conversation ---------------------------------------------------------------

    def place(self, speaker: str, stream_id: str) -> str:
        """Where a line goes: `#trading`, or the other side of an IM."""
        label = self.places.get(stream_id, stream_id)
        if label != "IM":
            return label
        return "alice" if speaker == BOT else BOT

    def bot_messages(self, stream_id: str) -> int:
        return sum(
            1
            for sent in self.emulator.sent_messages()
            if sent.sender == BOT and sent.stream_id == stream_id
        )

    async def say(
        self,
        speaker: str,
        stream_id: str,
        text: str,
        *,
        mention_bot: bool = False,
        expect_reply: bool = True,
        timeout: float = 10.0,  # noqa: ASYNC109 - how long a reply may take
    ) -> bool:
        """`speaker` posts `text`; with `expect_reply`, waits for the bot's answer and
        returns whether it came."""
        shown = f"@{BOT_DISPLAY_NAME} {text}" if mention_bot else text
        self.transcript.message(speaker, self.place(speaker, stream_id), shown)
        before = self.bot_messages(stream_id)
        sent = self.emulator.send(speaker, stream_id, text, mentions=[BOT] if mention_bot else [])
        self.sent_to_bot.append(sent["messageId"])
        if not expect_reply:
            return True
        return await self.expect_reply(stream_id, before, timeout)

    async def expect_reply(self, stream_id: str, before: int, timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        """Wait until the bot has sent more than `before` messages into `stream_id`."""
        if await self.wait_until(lambda: self.bot_messages(stream_id) > before, timeout):
            return True
        self.replies_missing += 1
        self.transcript.note("demo", f"⚠ no answer within {timeout:g} s")
        return False

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Poll `condition` (printing the bot's messages meanwhile); False on timeout."""
        with anyio.move_on_after(timeout):
            while not condition():
                self._print_new()
                await anyio.sleep(0.01)
            self._print_new()
            return True
        return False

    def _print_new(self) -> None:
        messages = self.emulator.sent_messages()
        for sent in messages[self._printed :]:
            if sent.sender == BOT:
                place = self.place(BOT, sent.stream_id)
                self.transcript.message(BOT, place, sent.text, when=sent.timestamp / 1000)
        self._printed = len(messages)

    async def _follow(self) -> None:
        while True:
            self._print_new()
            await anyio.sleep(0.02)

    def delete_feeds(self) -> set[str]:
        """Delete the bot's datafeeds on the server, as an agent whose feed expired would;
        returns their ids."""
        feed_ids = {feed.feed_id for feed in self.emulator.feeds(BOT)}
        for feed_id in feed_ids:
            self.emulator.delete_feed(feed_id)
        self.feeds_deleted += len(feed_ids)
        self.transcript.note("agent", f"{BOT}'s datafeed deleted on the server")
        return feed_ids

    # -- what happened ------------------------------------------------------------------

    def counts(self) -> Counts:
        counters = self.emulator.counters
        return Counts(counters.logins[POD_LOGIN], counters.logins[KM_LOGIN], counters.unauthorized)

    def session_logins(self) -> int:
        """Logins the bot's own session made (counted once both tokens are in hand)."""
        assert self.bot is not None
        return self.bot.client.session.logins

    def lost(self) -> list[str]:
        """Messages people sent where the bot is that its handlers never saw."""
        return [message_id for message_id in self.sent_to_bot if message_id not in self.seen_by_bot]
