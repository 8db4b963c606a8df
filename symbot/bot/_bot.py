"""`Bot`: subclass it, decorate methods, `run()` it.

```python
class EchoBot(Bot):
    @command("/echo")
    async def echo(self, msg: Message, text: str) -> None:
        "Repeat the text."
        await msg.reply(text)                 # plain text is escaped into MessageML

bot = EchoBot(BotConfig.from_file("symbot.toml"))
bot.run()                                     # or, inside async code: await bot.serve()
```

Lifecycle (structured; docs/architecture.md): `serve()` opens the client (whose session keeps the
tokens fresh in the background), learns who the bot is (`session_info`, so its own events
are ignored and mentions recognised), calls `on_start()`, then reads the datafeed until
`stop()`. `stop(timeout)` stops intake at once (a pending long-poll is cancelled), lets the
handlers of the batch in hand finish until the deadline (then cancels them, leaving the
batch unacknowledged so it comes back), calls `on_stop()` and closes the client. `run()` is
`serve()` under `anyio.run` with SIGINT/SIGTERM calling `stop()` (a second signal forces).

Services: while the bot serves, `bot.users`, `bot.streams` and `bot.messages` are the typed
services of its client (`symbot.services`), built when the client is.

Handlers: class-level decorators (`@on_message`, `@on_event`, `@command`, `@on_form`) are
collected when the class is created; `@bot.on_message(...)` and friends register plain
functions on one instance. A built-in `/help` lists the commands, from their docstrings,
unless the bot defines its own. A command whose arguments do not parse gets its usage line
as a reply.
"""

from __future__ import annotations

import functools
import logging
import signal
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import anyio
import httpx
from attrs import define, evolve

from symbot.auth import AuthProvider
from symbot.bot._dispatch import Dispatcher, DispatchStats, HandlerCall, in_handler
from symbot.bot._handlers import HandlerSpec, Invocation, MatchContext, Registry, collect_specs
from symbot.bot._outbox import Outbox
from symbot.client import SessionInfo, SymphonyClient
from symbot.config import BotConfig, DatafeedConfig
from symbot.datafeed import DatafeedLoop, Event, FeedStats, parse_event
from symbot.errors import CommandUsageError
from symbot.messages import Message, to_message_ml
from symbot.services import Messages, Services, Streams, Upload, Users

__all__ = ["Bot"]

logger = logging.getLogger("symbot.bot")

F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT_VISIBILITY_TIMEOUT = DatafeedConfig().visibility_timeout


class Bot:
    """A Symphony bot; see the module docstring. Not thread-safe; one `serve()` at a time,
    restartable after it returns."""

    visibility_timeout: ClassVar[float] = _DEFAULT_VISIBILITY_TIMEOUT
    """Deprecated: set `datafeed.visibility_timeout` in the configuration instead. A subclass
    that still sets another value gets a DeprecationWarning, and its value is used unless the
    configuration sets one of its own."""

    help_command: ClassVar[str | None] = "/help"
    """The built-in help command's name; None for no built-in help."""

    __symbot_specs__: ClassVar[list[tuple[str, HandlerSpec]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__symbot_specs__ = collect_specs(cls)
        legacy = cls.__dict__.get("visibility_timeout", _DEFAULT_VISIBILITY_TIMEOUT)
        if legacy != _DEFAULT_VISIBILITY_TIMEOUT:
            warnings.warn(
                f"{cls.__qualname__}.visibility_timeout is deprecated: set "
                "datafeed.visibility_timeout in the configuration instead ([datafeed] in "
                "symbot.toml, SYMBOT_DATAFEED_VISIBILITY_TIMEOUT, or "
                "DatafeedConfig(visibility_timeout=...))",
                DeprecationWarning,
                stacklevel=2,
            )

    def __init__(
        self,
        config: BotConfig,
        *,
        provider: AuthProvider | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._provider = provider
        self._transport = transport
        settings = config.bot
        self.registry = Registry(
            mention_required_in_rooms=settings.mention_required_in_rooms,
            ignore_own_messages=settings.ignore_own_messages,
        )
        for name, spec in type(self).__symbot_specs__:
            self.registry.add(spec, getattr(self, name))
        self.dispatcher = Dispatcher(
            self._route,
            on_error=self._report_error,
            concurrency=settings.concurrency,
            dedupe_size=max(1, settings.dedupe_cache_size),
            ignore_own_events=settings.ignore_own_messages,
            visibility_timeout=self._visibility_timeout(config),
        )
        self.started = anyio.Event()
        """Set once the datafeed is open and the first read is going out."""
        self.feed_stats = FeedStats()
        self._feed_position: tuple[str | None, str] = (None, "")
        self._client: SymphonyClient | None = None
        self._services: Services | None = None
        self._outbox: Outbox | None = None
        self._me: SessionInfo | None = None
        self._context = MatchContext()
        self._loop: DatafeedLoop | None = None
        self._serve_scope: anyio.CancelScope | None = None
        self._stopped: anyio.Event | None = None
        self._stop_timeout: float | None = None

    def _visibility_timeout(self, config: BotConfig) -> float:
        """The configured value, or a (deprecated) class attribute's when only that is set."""
        configured = config.datafeed.visibility_timeout
        legacy = type(self).visibility_timeout
        if configured == _DEFAULT_VISIBILITY_TIMEOUT and legacy != _DEFAULT_VISIBILITY_TIMEOUT:
            return legacy
        return configured

    # -- registration -------------------------------------------------------------------

    def on_message(self, **filters: Any) -> Callable[[F], F]:
        """Register a plain async function as a message handler (filters as `on_message`)."""
        return self.registry.on_message(**filters)

    def on_event(self, *types: str | type[Event]) -> Callable[[F], F]:
        """Register a plain async function as an event handler (types as `on_event`)."""
        return self.registry.on_event(*types)

    def command(self, name: str, **options: Any) -> Callable[[F], F]:
        """Register a plain async function as a command (as `command`)."""
        return self.registry.command(name, **options)

    def on_form(self, *form_ids: str, action: str | None = None) -> Callable[[F], F]:
        """Register a plain async function as a form handler (as `on_form`)."""
        return self.registry.on_form(*form_ids, action=action)

    # -- hooks ----------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Called once the bot knows who it is, before the datafeed is read."""

    async def on_stop(self) -> None:
        """Called after the datafeed stopped, while messages can still be sent; cancelled
        after `config.bot.stop_timeout` seconds."""

    async def on_error(self, exc: Exception, event: Event) -> None:
        """Called with every exception a handler raised (already logged with its traceback)."""

    # -- state ----------------------------------------------------------------------------

    @property
    def stats(self) -> DispatchStats:
        """Counters: events handled, duplicates dropped, handler errors, batches, ..."""
        return self.dispatcher.stats

    @property
    def me(self) -> SessionInfo:
        """Who the bot is (known once `serve()` has started)."""
        if self._me is None:
            raise RuntimeError("the bot is not serving: its identity is not known yet")
        return self._me

    @property
    def client(self) -> SymphonyClient:
        """The open client, for API calls symbot has no helper for (while serving)."""
        if self._client is None:
            raise RuntimeError("the bot is not serving: start it with serve() or run()")
        return self._client

    @property
    def services(self) -> Services:
        """The pod and agent services of the open client (while serving)."""
        if self._services is None:
            raise RuntimeError("the bot is not serving: start it with serve() or run()")
        return self._services

    @property
    def users(self) -> Users:
        """User lookups and search (`symbot.services.Users`), while serving."""
        return self.services.users

    @property
    def streams(self) -> Streams:
        """IMs, rooms and members (`symbot.services.Streams`), while serving."""
        return self.services.streams

    @property
    def messages(self) -> Messages:
        """Messages and attachments (`symbot.services.Messages`), while serving."""
        return self.services.messages

    async def session_info(self) -> SessionInfo:
        """The bot's own user (id, username, display name), from the pod."""
        info = await self.client.session_info()
        self._me = info
        return info

    async def send_message(
        self,
        stream_id: str,
        content: str,
        *,
        data: Mapping[str, Any] | str | None = None,
        attachments: Sequence[Upload] = (),
    ) -> Message | None:
        """Send into `stream_id`: a plain `str` is text (always escaped), a `MessageML`
        value (builders such as `bold()`, `form()`, or `markup()` for the author's own
        markup) is sent as markup; `data` is EntityJSON; `attachments` are files (`Path`s or
        `(name, bytes)` pairs). Returns the sent message (None if its echo did not parse).
        Raises `MessageRejectedError` (400), `ComplianceBlockedError` (451),
        `ForbiddenError` (not a member), `RateLimitedError` (429 beyond the retries),
        `ApiError`."""
        if self._outbox is None:
            raise RuntimeError("the bot is not serving: start it with serve() or run()")
        return await self._outbox.send(
            stream_id, to_message_ml(content), data, attachments=attachments
        )

    # -- lifecycle --------------------------------------------------------------------------

    async def serve(self) -> None:
        """Run until `stop()`; see the module docstring. Raises `AuthenticationError` if
        the credentials are refused; network trouble is ridden out, never raised."""
        if self._stopped is not None:
            raise RuntimeError("this bot is already serving; call stop() first")
        self._stopped = anyio.Event()
        started = False
        try:
            with anyio.CancelScope() as self._serve_scope:
                client = SymphonyClient(
                    self.config, provider=self._provider, transport=self._transport
                )
                async with client:
                    self._client = client
                    self._services = Services(client)
                    try:
                        await self._start(client)
                        started = True
                        await self._read_feed(client)
                    finally:
                        if started:
                            await self._run_on_stop()
        finally:
            self._client = self._outbox = self._loop = self._serve_scope = None
            self._services = None
            self._stop_timeout = None
            self._stopped.set()
            self._stopped = None
            if self.started.is_set():
                self.started = anyio.Event()

    async def _start(self, client: SymphonyClient) -> None:
        info = await self.session_info()
        self.dispatcher.own_user_id = info.user_id
        self.dispatcher.limiter = anyio.CapacityLimiter(self.config.bot.concurrency)
        rate = self.config.bot.send_rate_per_stream
        self._outbox = Outbox(client, min_interval=1.0 / rate if rate else None)
        self._context = MatchContext(
            bot_user_id=info.user_id,
            bot_display_name=info.display_name,
            replier=self._outbox.send,
        )
        # Each message is built with the replier bound, so `msg.reply()` works in handlers.
        self.dispatcher.parse = functools.partial(parse_event, replier=self._outbox.send)
        if self.help_command is not None:
            self.registry.add_help_command(self.help_command)
        await self.on_start()

    async def _read_feed(self, client: SymphonyClient) -> None:
        feed_config = self.config.datafeed
        loop = DatafeedLoop(
            client.agent,
            handle_batch=self.dispatcher.dispatch,
            refresh_auth=client.session.refresh,
            tag=feed_config.tag_for(self.me.username),
            read_timeout=feed_config.read_timeout,
            retry=evolve(self.config.retry, max_attempts=None),
            include_invisible=feed_config.include_invisible,
            delete_stale_on_403=feed_config.delete_stale_on_403,
        )
        loop.feed_id, loop.ack_id = self._feed_position
        loop.stats = self.feed_stats
        self._loop = loop
        if self._stop_timeout is not None:  # stop() came during start-up
            loop.stop(self._stop_timeout)
        try:
            await loop.run(on_ready=self.started.set)
        finally:
            self._feed_position = (loop.feed_id, loop.ack_id)

    async def _run_on_stop(self) -> None:
        timeout = self.config.bot.stop_timeout  # its own budget, whatever the drain got
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + timeout
            try:
                await self.on_stop()
            except Exception:
                logger.exception("on_stop failed")
        if scope.cancelled_caught:
            logger.warning("on_stop did not finish within %.1f s and was cancelled", timeout)

    async def stop(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - a drain deadline
        """Stop intake now, let running handlers finish for up to `timeout` seconds
        (default `config.bot.stop_timeout`), then close. Waits until `serve()` is done,
        except when called from a handler (it would wait for itself). No-op if not serving."""
        stopped = self._stopped
        if stopped is None:
            return
        deadline = self.config.bot.stop_timeout if timeout is None else timeout
        self._stop_timeout = deadline
        if self._loop is not None:
            self._loop.stop(deadline)
        elif self._serve_scope is not None and not self.started.is_set():
            self._serve_scope.cancel()  # still logging in: nothing to drain
        if not in_handler():
            await stopped.wait()

    def run(self, *, backend: str = "asyncio") -> None:
        """Serve until SIGINT/SIGTERM (graceful `stop()`; a second signal cancels at once).

        Blocking, and it installs signal handlers, so call it from the main thread of a
        program; inside an event loop or another thread, use `await bot.serve()`."""
        anyio.run(self._serve_until_signalled, backend=backend)

    async def _serve_until_signalled(self) -> None:
        async with anyio.create_task_group() as tg:

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        if self._stop_timeout is None:
                            logger.info("%s received: stopping", signal.Signals(signum).name)
                            tg.start_soon(self.stop)
                        elif self._serve_scope is not None:
                            logger.warning("second signal: stopping without draining")
                            self._serve_scope.cancel()

            tg.start_soon(watch_signals)
            await self.serve()
            tg.cancel_scope.cancel()

    # -- dispatch glue --------------------------------------------------------------------

    def _route(self, event: Event) -> Sequence[HandlerCall]:
        found = self.registry.match(event, self._context)
        for invocation in found:
            if invocation.usage_error is not None:
                return [_UsageReply(i) if i.usage_error is not None else i for i in found]
        return found

    async def _report_error(self, exc: Exception, event: Event) -> None:
        await self.on_error(exc, event)


@define
class _UsageReply:
    """A command call whose arguments did not parse: replies the usage line instead."""

    invocation: Invocation

    @property
    def name(self) -> str:
        return self.invocation.name

    async def __call__(self) -> None:
        try:
            await self.invocation()
        except CommandUsageError as exc:
            msg = self.invocation.args[0]
            if isinstance(msg, Message) and msg.can_reply:
                await msg.reply(f"{exc.problem}. Usage: {exc.usage}")
