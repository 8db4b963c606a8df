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

Operations (docs/operating.md): `bot.health()` says whether the bot is ready and why not,
`bot.metrics()` gives every figure in the Prometheus text format. With `health.port` set,
`serve()` also answers `/healthz`, `/readyz` and `/metrics` on that port (`bot.health_url`),
in its own task group: from before the login until `serve()` returns, never delaying it.
The figures count from the bot's creation, across restarts.

Handlers: class-level decorators (`@on_message`, `@on_event`, `@command`, `@on_form`) are
collected when the class is created; `@bot.on_message(...)` and friends register plain
functions on one instance. A built-in `/help` lists the commands, from their docstrings,
unless the bot defines its own. A command whose arguments do not parse gets its usage line
as a reply.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar, TypeVar

import anyio
import httpx
from anyio.abc import TaskGroup
from attrs import evolve

from symbot.apps import App, OboUser
from symbot.auth import AuthProvider, LoginStats
from symbot.bot._dispatch import Dispatcher, DispatchStats, HandlerCall, SeenEvents, in_handler
from symbot.bot._handlers import HandlerSpec, MatchContext, Registry, collect_specs
from symbot.bot._health import BotHealth, Phase, assess, bot_metrics, health_routes
from symbot.bot._matching import UsageReply
from symbot.bot._outbox import Outbox
from symbot.bot._signals import OnSignals
from symbot.client import SessionInfo, SymphonyClient
from symbot.config import BotConfig
from symbot.datafeed import DatafeedLoop, Event, FeedStats, parse_event
from symbot.errors import ConfigError
from symbot.health import HealthServer
from symbot.messages import Message, to_message_ml
from symbot.services import Messages, Services, Streams, Upload, Users
from symbot.transport import TransportStats

__all__ = ["Bot"]

logger = logging.getLogger("symbot.bot")

F = TypeVar("F", bound=Callable[..., Any])


class Bot:
    """A Symphony bot: subclass it, decorate async methods with `on_message`, `on_event`,
    `command` or `on_form`, and `run()` it (or `await serve()` inside async code).

    `serve()` logs in, learns who the bot is, calls `on_start()` and reads the datafeed until
    `stop()`, which stops intake at once, lets running handlers finish until a deadline,
    calls `on_stop()` and closes. A built-in `/help` lists the commands. Not thread-safe;
    one `serve()` at a time, restartable after it returns. See
    [Handlers and commands](handlers.md)."""

    help_command: ClassVar[str | None] = "/help"
    """The built-in help command's name; None for no built-in help."""

    __symbot_specs__: ClassVar[list[tuple[str, HandlerSpec]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__symbot_specs__ = collect_specs(cls)

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
        self.registry = Registry(mention_required_in_rooms=config.bot.mention_required_in_rooms)
        for name, spec in type(self).__symbot_specs__:
            self.registry.add(spec, getattr(self, name))
        self.started = anyio.Event()
        """Set once the datafeed is open and the first read is going out."""
        # What outlives one serving: counters, handled event ids, the feed and its position.
        self._stats = DispatchStats()
        self._seen = SeenEvents(max(1, config.bot.dedupe_cache_size))
        self.feed_stats = FeedStats()
        self.login_stats = LoginStats()
        """Logins by reason, failed logins, 401s: counted by each serving's session."""
        self.transport_stats = TransportStats()
        """Retries by kind and malformed answers: counted by the transport and the datafeed."""
        self._feed_position: tuple[str | None, str] = (None, "")
        # What one serving holds (None when not serving).
        self._client: SymphonyClient | None = None
        self._app: App | None = None
        self._services: Services | None = None
        self._outbox: Outbox | None = None
        self._me: SessionInfo | None = None
        self._loop: DatafeedLoop | None = None
        self._reading_since: float | None = None
        self._health_server: HealthServer | None = None
        self._serve_scope: anyio.CancelScope | None = None
        self._stopped: anyio.Event | None = None
        self._stop_timeout: float | None = None

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
        """Counters: events handled, duplicates dropped, handler errors, batches, ...; they
        count from the bot's creation, across restarts."""
        return self._stats

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

    @property
    def health_url(self) -> str | None:
        """The base URL of `/healthz`, `/readyz` and `/metrics` while they are served (with
        the bound port when `health.port` is 0); None otherwise."""
        server = self._health_server
        return server.url if server is not None and server.entered else None

    def health(self) -> BotHealth:
        """Whether the bot is ready, and if not why (`BotHealth.reasons`, in words): ready
        means serving, a datafeed read completed within `health.max_read_age` seconds, and
        a session that is not failing. Cheap and synchronous: what `/readyz` answers."""
        phase: Phase = "not serving"
        if self._stopped is not None:
            phase = "stopping" if self._stop_timeout is not None else "starting"
            if phase == "starting" and self.started.is_set():
                phase = "serving"
        return assess(
            phase,
            last_read_at=self.feed_stats.last_read_at,
            reading_since=self._reading_since,
            max_read_age=self.config.health.max_read_age,
            session=self._client.session.health if self._client is not None else None,
        )

    def metrics(self) -> str:
        """Every figure of the bot, in the Prometheus text format (docs/operating.md)."""
        return bot_metrics(
            self.health(),
            dispatch=self._stats,
            feed=self.feed_stats,
            logins=self.login_stats,
            transport=self.transport_stats,
        )

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

    def obo(
        self, *, username: str | None = None, user_id: int | None = None
    ) -> AbstractAsyncContextManager[OboUser]:
        """Act on behalf of a user (`async with bot.obo(username="alice") as alice:`) through
        the app the configuration's `[app]` describes, while serving; see
        `symbot.apps.App.obo`."""
        if self.config.app is None:
            raise ConfigError(
                "app",
                "no app is configured, so the bot cannot act on behalf of users",
                "set [app] app_id and private_key (the app must be registered on the pod)",
            )
        if self._app is None:
            raise RuntimeError("the bot is not serving: start it with serve() or run()")
        return self._app.obo(username=username, user_id=user_id)

    # -- lifecycle --------------------------------------------------------------------------

    async def serve(self) -> None:
        """Log in, read the datafeed and run handlers until `stop()`. Raises
        `AuthenticationError` if the credentials are refused at the first login (or when
        re-logins kept failing for `relogin_give_up_after`); network trouble and
        maintenance windows are ridden out."""
        if self._stopped is not None:
            raise RuntimeError("this bot is already serving; call stop() first")
        self._stopped = anyio.Event()
        try:
            with anyio.CancelScope() as self._serve_scope:
                async with self._health_endpoint():
                    client = SymphonyClient(
                        self.config,
                        provider=self._provider,
                        transport=self._transport,
                        transport_stats=self.transport_stats,
                        login_stats=self.login_stats,
                    )
                    app = App(self.config, transport=self._transport) if self.config.app else None
                    async with client, app if app is not None else contextlib.nullcontext():
                        self._client, self._app = client, app
                        self._services = services = Services(client)
                        await self._serve_with(client, services)
        finally:
            self._client = self._app = self._outbox = self._loop = self._serve_scope = None
            self._services = self._health_server = self._reading_since = None
            self._stop_timeout = None
            self._stopped.set()
            self._stopped = None
            if self.started.is_set():
                self.started = anyio.Event()

    def _health_endpoint(self) -> AbstractAsyncContextManager[object]:
        """The health server of this serving (when `health.port` is set), else nothing."""
        settings = self.config.health
        if settings.port is None:
            return contextlib.nullcontext()
        self._health_server = HealthServer(
            health_routes(self.health, self.metrics), host=settings.host, port=settings.port
        )
        return self._health_server

    async def _serve_with(self, client: SymphonyClient, services: Services) -> None:
        """Learn who the bot is, build what handles the events, and read the datafeed;
        `on_stop` runs once `on_start` has."""
        info = await self.session_info()
        settings = self.config.bot
        rate = settings.send_rate_per_stream
        outbox = Outbox(services.messages, min_interval=1.0 / rate if rate else None)
        self._outbox = outbox
        context = MatchContext(bot_user_id=info.user_id, bot_display_name=info.display_name)
        dispatcher = Dispatcher(
            functools.partial(self._route, context),
            on_error=self._report_error,
            # Every message delivered to a handler can reply (`msg.reply()`): through this.
            parse=functools.partial(parse_event, replier=outbox.send),
            own_user_id=info.user_id if settings.ignore_own_messages else None,
            limiter=anyio.CapacityLimiter(settings.concurrency),
            seen=self._seen,
            stats=self._stats,
            visibility_timeout=self.config.datafeed.visibility_timeout,
        )
        if self.help_command is not None:
            self.registry.add_help_command(self.help_command)
        await self.on_start()
        try:
            await self._read_feed(client, dispatcher)
        finally:
            await self._run_on_stop()

    async def _read_feed(self, client: SymphonyClient, dispatcher: Dispatcher) -> None:
        feed_config = self.config.datafeed
        loop = DatafeedLoop(
            client.agent,
            handle_batch=dispatcher.dispatch,
            refresh_auth=client.session.refresh,
            tag=feed_config.tag_for(self.me.username),
            read_timeout=feed_config.read_timeout,
            retry=evolve(self.config.retry, max_attempts=None),
            include_invisible=feed_config.include_invisible,
            delete_stale_on_403=feed_config.delete_stale_on_403,
            feed_id=self._feed_position[0],
            ack_id=self._feed_position[1],
            stats=self.feed_stats,
            transport_stats=self.transport_stats,
        )
        self._loop = loop
        if self._stop_timeout is not None:  # stop() came during start-up
            loop.stop(self._stop_timeout)
        try:
            await loop.run(on_ready=self._reading)
        finally:
            self._feed_position = (loop.feed_id, loop.ack_id)

    def _reading(self) -> None:
        """The datafeed is open and its first read goes out: started, and the clock of
        `health.max_read_age` runs."""
        self._reading_since = time.monotonic()
        self.started.set()

    async def _run_on_stop(self) -> None:
        timeout = self.config.bot.stop_timeout  # its own budget, whatever the drain got
        with anyio.move_on_after(timeout, shield=True) as scope:
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
        async with OnSignals(self._on_signal):  # serve()'s own exception comes out as itself
            await self.serve()

    def _on_signal(self, signum: int, task_group: TaskGroup) -> None:
        if self._stop_timeout is None:
            logger.info("%s received: stopping", signal.Signals(signum).name)
            task_group.start_soon(self.stop)
        elif self._serve_scope is not None:
            logger.warning("second signal: stopping without draining")
            self._serve_scope.cancel()

    # -- dispatch glue --------------------------------------------------------------------

    def _route(self, context: MatchContext, event: Event) -> Sequence[HandlerCall]:
        found = self.registry.match(event, context)
        for invocation in found:
            if invocation.usage_error is not None:
                return [UsageReply(i) if i.usage_error is not None else i for i in found]
        return found

    async def _report_error(self, exc: Exception, event: Event) -> None:
        await self.on_error(exc, event)
