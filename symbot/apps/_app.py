"""`App`: an application registered on the pod, with its own session.

It acts on behalf of users (`obo()`: one OBO session per user, kept by the same
single-flight `AuthSession` machinery as a bot's tokens, cached with a bound) and runs the
backend side of an extension app's circle of trust (`authenticate_extension_app`,
`validate_tokens`, `pod_certificate`, `validate_jwt`). Its own session is a
`SymphonyClient` whose provider is the app's (`AppLogin`): the retries, errors, clock and
maintenance-window handling are the bot's.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from symbot._lifecycle import AsyncResource
from symbot.apps._obo import OboUser
from symbot.auth import (
    NOT_SIGNED_BY_THE_POD,
    AppLogin,
    AuthSession,
    ExtensionAppTokens,
    ExtensionUser,
    InMemoryTokenPairStore,
    OboLogin,
    PodCertificate,
    ServerClock,
    TokenPairStore,
    pair_is_valid,
    verify_user_jwt,
)
from symbot.client import SymphonyClient
from symbot.config import BotConfig
from symbot.errors import ConfigError, InvalidJwtError

__all__ = ["App"]

MAX_APP_TOKEN = 4096


class App(AsyncResource):
    """The app `config.app` describes (`AppAuth`), with its own session.

    It acts on behalf of users (`obo()`: one OBO session per user, kept by the same
    single-flight machinery as a bot's tokens, cached with a bound) and runs the backend side
    of an extension app's circle of trust (`authenticate_extension_app`, `validate_tokens`,
    `pod_certificate`, `validate_jwt`). Retries, errors, the server's clock and maintenance
    windows are handled as for a bot.

    `transport` replaces the network (the in-process emulator); `token_store` keeps the
    extension-app token pairs (default: in memory, entries expiring). `async with app:`
    starts the app session's background refresher and closes every connection on exit.
    """

    def __init__(
        self,
        config: BotConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        token_store: TokenPairStore | None = None,
    ) -> None:
        if config.app is None:
            raise ConfigError(
                "app",
                "no app is configured",
                "set [app] app_id and private_key (or SYMBOT_APP_APP_ID and "
                "SYMBOT_APP_PRIVATE_KEY), or AppAuth(...) in BotConfig(app=...)",
            )
        self.config = config
        self.app_id = config.app.app_id
        clock = ServerClock()
        self._login = AppLogin(config.app, clock=clock)
        self.client = SymphonyClient(config, provider=self._login, transport=transport, clock=clock)
        """The app's own client: its session is the app session (`client.session`)."""
        self.token_store: TokenPairStore = token_store or InMemoryTokenPairStore()
        self._obo_cache_size = config.app.obo_cache_size
        self._obo: OrderedDict[tuple[str, str | int], AuthSession] = OrderedDict()
        self._pod_certificate = PodCertificate(clock)

    def __repr__(self) -> str:
        return f"App(app_id={self.app_id!r})"

    @property
    def session(self) -> AuthSession:
        """The app's own session (`health`, `logins`, ...)."""
        return self.client.session

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with self.client:
            yield

    # -- on behalf of users -------------------------------------------------------------

    @asynccontextmanager
    async def obo(
        self, *, username: str | None = None, user_id: int | None = None
    ) -> AsyncIterator[OboUser]:
        """Act for one user (give `username` or `user_id`): their session is obtained now,
        so a refusal (`AuthenticationError`: no such user, the app not installed by them or
        lacking the on-behalf-of permission) surfaces at `async with`. Sessions are cached
        per user (at most `app.obo_cache_size`, the least recently used dropped) and renewed
        once after a 401."""
        session = self._obo_session(username, user_id)
        await session.tokens()
        yield OboUser(self.client, session, username or f"user id {user_id}")

    def _obo_session(self, username: str | None, user_id: int | None) -> AuthSession:
        login = OboLogin(self.session, self.app_id, username=username, user_id=user_id)
        key: tuple[str, str | int] = (
            ("username", username) if username is not None else ("user_id", int(user_id or 0))
        )
        session = self._obo.pop(key, None)
        if session is None:
            session = AuthSession(
                login,
                self.client.transport,
                retry=self.config.retry,
                clock=self.client.clock,
                ride_out_refusals=False,
                name=f"{login.username} (on behalf of, by app {self.app_id})",
            )
        self._obo[key] = session  # the most recently used last
        while len(self._obo) > self._obo_cache_size:
            self._obo.popitem(last=False)
        return session

    # -- the circle of trust (extension apps) -------------------------------------------

    async def authenticate_extension_app(self, app_token: str | None = None) -> ExtensionAppTokens:
        """Authenticate the extension app with `app_token` (a fresh random one by default)
        and keep the pair in the token store; the answer carries the Symphony token the
        Symphony client will hand to the app's frontend. `AuthenticationError` when the pod
        refuses the app."""
        if app_token is None:
            app_token = secrets.token_urlsafe(32)
        elif not isinstance(app_token, str) or not 0 < len(app_token) <= MAX_APP_TOKEN:
            raise ValueError(f"app_token must be a string of 1 to {MAX_APP_TOKEN} characters")
        tokens = await self._login.extension_app_login(self.client.transport, app_token)
        await self.token_store.save(tokens)
        return tokens

    async def validate_tokens(self, app_token: object, symphony_token: object) -> bool:
        """True when the pair a frontend presents is one this backend obtained and that has
        not expired (anything malformed is simply not valid)."""
        return await pair_is_valid(self.token_store, app_token, symphony_token)

    async def pod_certificate(self) -> str:
        """The pod's JWT-signing certificate (PEM), fetched once and cached."""
        return await self._pod_certificate.pem(self.client.transport)

    async def validate_jwt(self, jwt: object) -> ExtensionUser:
        """The user a client extension's JWT vouches for, verified with the pod certificate
        (RS512, issued for this app, not expired on the pod's clock). `InvalidJwtError` says
        why one is refused; a signature that does not verify makes the certificate be
        fetched again once (the pod may have rotated it)."""
        transport = self.client.transport
        key = await self._pod_certificate.public_key(transport)
        try:
            return verify_user_jwt(jwt, key, app_id=self.app_id, clock=self.client.clock)
        except InvalidJwtError as refused:
            if refused.reason != NOT_SIGNED_BY_THE_POD:
                raise
            renewed = await self._pod_certificate.public_key(transport, refetch=True)
            if renewed is key:
                raise
            return verify_user_jwt(jwt, renewed, app_id=self.app_id, clock=self.client.clock)
