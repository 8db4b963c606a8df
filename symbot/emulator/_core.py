"""The Emulator: a whole Symphony deployment (pod, Key Manager, session auth, agent) in one object.

In-process, `emu.app` is an ASGI app and `emu.transport()` an httpx transport for it, so a
test needs no sockets. Served, `async with Emulator() as emu` listens on loopback: plain HTTP
on `emu.http_url` and TLS on `emu.https_url`, whose certificate the emulator's own CA issued
(trust it with `emu.ca_bundle`). The HTTPS listener asks for, but does not require, a client
certificate, so certificate login and every other endpoint share one origin.

The controls (`add_user`, `add_app`, `issue_certificate`, `send`, `submit_form`,
`expire_tokens`, `fault`, `clock`, ...) change the emulator's state directly, as a pod
administrator or another user would; those of applications live in `AppControls`.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TypeVar

import httpx

from symbot._lifecycle import AsyncResource
from symbot.emulator._agent_routes import agent_routes
from symbot.emulator._app import Counters, EmulatorApp, InProcessTransport, ReceivedRequest
from symbot.emulator._app_controls import AppControls
from symbot.emulator._app_routes import AppRoutes
from symbot.emulator._apps import AppRegistry, PodSigner
from symbot.emulator._auth_routes import AuthRoutes
from symbot.emulator._ca import CertificateAuthority, IssuedCertificate
from symbot.emulator._clock import EmulatorClock
from symbot.emulator._config_files import emulator_config_toml
from symbot.emulator._conversation_controls import ConversationControls
from symbot.emulator._directory import UserDirectory
from symbot.emulator._faults import Body, FaultInjector
from symbot.emulator._feeds import FeedStore
from symbot.emulator._message_ops import MessageOperations
from symbot.emulator._message_routes import message_routes
from symbot.emulator._pod_routes import pod_routes
from symbot.emulator._rooms import Rooms
from symbot.emulator._streams import StreamStore
from symbot.emulator._tokens import SESSION_KINDS, TokenKind, TokenStore
from symbot.emulator._users import EmulatedUser, UserRegistry

__all__ = ["EmulatedUser", "Emulator", "emulator_config_toml"]

IN_PROCESS_URL = "https://emulator.invalid"  # no TLS happens in-process
_T = TypeVar("_T")


class Emulator(AppControls, ConversationControls, AsyncResource):
    """A whole Symphony deployment (pod, Key Manager, session auth, agent): in-process with
    `transport()` and `base_url`, or served on loopback with `async with` (`http_url`,
    `https_url`, `ca_bundle`). Lifetimes are in seconds, on the emulator's clock
    (`time.time()` plus `clock_offset`: a negative offset puts the servers behind the bot).

    Sessions (a user's, an app's, and those an app holds on a user's behalf) live
    `session_token_lifetime`, Key Manager tokens `km_token_lifetime`; no answer announces
    either, as with Symphony. `authorization_token_lifetime` adds a short-lived
    `authorizationToken` to pod login answers (None: none), and `access_token_lifetime` is
    the lifetime of the access tokens `/login/idm/tokens` grants.
    """

    base_url = IN_PROCESS_URL
    _already_entered = "is already serving; enter it only once"

    def __init__(
        self,
        *,
        session_token_lifetime: float = 3600.0,
        km_token_lifetime: float = 3600.0,
        authorization_token_lifetime: float | None = None,
        access_token_lifetime: float = 300.0,
        clock_offset: float = 0.0,
        visibility_timeout: float = 30.0,
        long_poll_timeout: float = 30.0,
        feed_ttl: float = 1800.0,
        max_batch: int = 100,
        max_feeds_per_user: int = 20,
        strict_content_type: bool = True,
        host: str = "127.0.0.1",
        http_port: int = 0,
        https_port: int = 0,
    ) -> None:
        self.host = host
        self.http_port = http_port
        self.https_port = https_port
        self.directory = UserDirectory()
        self.clock = EmulatorClock(clock_offset)
        """The servers' clock; set `emu.clock.offset` (seconds) to move it at any time."""
        self.tokens = TokenStore(
            session_lifetime=session_token_lifetime,
            key_manager_lifetime=km_token_lifetime,
            authorization_lifetime=authorization_token_lifetime,
            access_lifetime=access_token_lifetime,
            clock=self.clock,
        )
        self.feed_store = FeedStore(
            visibility_timeout=visibility_timeout,
            long_poll_timeout=long_poll_timeout,
            feed_ttl=feed_ttl,
            max_batch=max_batch,
            max_feeds_per_user=max_feeds_per_user,
        )
        self.stream_store = StreamStore(self.directory, self.feed_store)
        self.rooms = Rooms(self.stream_store)
        self.message_ops = MessageOperations(self.stream_store, self.rooms)
        self.ca = CertificateAuthority.create()
        self._server_certificate = self.ca.issue_server(
            list(dict.fromkeys(["127.0.0.1", "localhost", host]))
        )
        self._foreign_ca: CertificateAuthority | None = None
        self.users = UserRegistry(self.directory)
        self.apps = AppRegistry()
        self.pod_signer = PodSigner()
        self._faults = FaultInjector()
        self.counters = Counters(feed=self.feed_store.counters)
        auth = AuthRoutes(
            directory=self.directory,
            keys=self.users.keys,
            tokens=self.tokens,
            ca=self.ca,
            counters=self.counters,
            clock=self.clock,
            strict_content_type=strict_content_type,
        )
        apps = AppRoutes(
            directory=self.directory,
            apps=self.apps,
            tokens=self.tokens,
            signer=self.pod_signer,
            counters=self.counters,
            clock=self.clock,
        )
        self.app = EmulatorApp(
            routes=[
                *auth.routes(),
                *apps.routes(),
                *agent_routes(self.feed_store, self.stream_store),
                *pod_routes(self.rooms, self.message_ops),
                *message_routes(self.message_ops),
            ],
            tokens=self.tokens,
            faults=self._faults,
            counters=self.counters,
            clock=self.clock,
        )
        self._http_url: str | None = None
        self._https_url: str | None = None
        self._ca_bundle: Path | None = None

    # -- in-process and served access ---------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport to the in-process app; use it with `base_url`."""
        return InProcessTransport(self.app)

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        """Serve on loopback: HTTP on `http_url`, TLS (emulator CA) on `https_url`."""
        from symbot.emulator._server import AsgiServer, server_ssl_context  # h11: an extra

        async with AsyncExitStack() as stack:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="symbot-")))
            ca_bundle = directory / "emulator-ca.pem"
            ca_bundle.write_bytes(self.ca_pem)
            context = server_ssl_context(
                self._server_certificate.cert_pem,
                self._server_certificate.key_pem,
                client_ca_pem=self.ca_pem,
            )
            http = await stack.enter_async_context(
                AsgiServer(self.app, host=self.host, port=self.http_port)
            )
            https = await stack.enter_async_context(
                AsgiServer(self.app, host=self.host, port=self.https_port, ssl_context=context)
            )
            self._http_url, self._https_url, self._ca_bundle = http.url, https.url, ca_bundle
            try:
                yield
            finally:
                self._http_url = self._https_url = self._ca_bundle = None

    @property
    def http_url(self) -> str:
        return self._served(self._http_url)

    @property
    def https_url(self) -> str:
        return self._served(self._https_url)

    @property
    def ca_bundle(self) -> Path:
        """A PEM file with the emulator CA certificate (removed when serving stops)."""
        return self._served(self._ca_bundle)

    @property
    def ca_pem(self) -> bytes:
        return self.ca.cert_pem

    def _served(self, value: _T | None) -> _T:
        if value is None:
            raise RuntimeError(
                "the emulator is not serving; use `async with Emulator() as emu:` for URLs, "
                "or emu.transport() with emu.base_url in-process"
            )
        return value

    # -- users, keys and certificates ---------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        public_key_pem: bytes | None = None,
        previous_public_key_pem: bytes | None = None,
        previous_key_expires_at: float | None = None,
        key_size: int = 2048,
    ) -> EmulatedUser:
        """Add a user with an RSA public key (generated with its private key when not given).

        `previous_public_key_pem` also authenticates, until `previous_key_expires_at` (epoch
        seconds; None = no expiry), like a pod during a key rotation.
        """
        return self.users.add(
            username,
            display_name=display_name,
            email=email,
            public_key_pem=public_key_pem,
            previous_public_key_pem=previous_public_key_pem,
            previous_key_expires_at=previous_key_expires_at,
            key_size=key_size,
        )

    def rotate_key(
        self,
        username: str,
        *,
        public_key_pem: bytes | None = None,
        previous_key_lifetime: float | None = 3600.0,
        key_size: int = 2048,
    ) -> EmulatedUser:
        """Install a new current key (generated when not given); the old one becomes the
        previous key for `previous_key_lifetime` seconds (None = no expiry)."""
        return self.users.rotate_key(
            username,
            public_key_pem=public_key_pem,
            previous_key_lifetime=previous_key_lifetime,
            key_size=key_size,
        )

    def user(self, username: str) -> EmulatedUser:
        """The user named `username` (KeyError if it was never added)."""
        return self.users.get(username)

    def grant_role(self, username: str, role: str) -> None:
        """Give `username` a pod role, as an administrator would: "CONTENT_MANAGEMENT" lets
        them suppress anyone's messages."""
        self.directory.grant_role(username, role)

    def issue_certificate(
        self, username: str, *, common_name: str | None = None
    ) -> IssuedCertificate:
        """A client certificate from the emulator CA for `username` (CN = username, unless
        `common_name` overrides it to test refusals)."""
        self.user(username)
        return self.ca.issue_client(common_name if common_name is not None else username)

    def foreign_certificate(self, common_name: str) -> IssuedCertificate:
        """A client certificate from another CA that has the very same name as the emulator
        CA, so only a real signature check tells them apart."""
        if self._foreign_ca is None:
            self._foreign_ca = CertificateAuthority.create(self.ca.name)
        return self._foreign_ca.issue_client(common_name)

    # -- tokens and faults --------------------------------------------------------------

    def expire_tokens(
        self, username: str, *, session: bool = True, key_manager: bool = True
    ) -> None:
        """Every token `username` holds now answers 401, as if its lifetime had run out
        (only the session or only the KM tokens when the other flag is False). Sessions
        include those an app holds on the user's behalf; an app id expires the app's
        sessions."""
        self._known(username)
        self.tokens.expire(username, _kinds(session, key_manager))

    def revoke_tokens(
        self, username: str, *, session: bool = True, key_manager: bool = True
    ) -> None:
        """Every token `username` holds now answers 401, as after an admin's logout
        (only the session or only the KM tokens when the other flag is False); an app id
        revokes the app's sessions."""
        self._known(username)
        self.tokens.revoke(username, _kinds(session, key_manager))

    def _known(self, name: str) -> None:
        if name not in self.apps:
            self.user(name)

    def fault(
        self,
        path: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        count: int = 1,
        retry_after: float | str | None = None,
        method: str | None = None,
        probability: float | None = None,
        body: bytes | str | Body | None = None,
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        truncate: int | None = None,
        chunked: bool = False,
        message: str | None = None,
    ) -> None:
        """Make the next `count` requests whose path matches `path` (`re.match`: a plain path
        is a prefix) fail: `delay` seconds first, then `status` (with `Retry-After` if given,
        saying `message` if given) or a dropped connection. With `probability`, each matching
        request fails with that probability until `clear_faults()`.

        As a hostile server: `body` answers anything (bytes, text, or a `Body` made chunk by
        chunk, e.g. `Body(repeat=b"[", times=200_000)`), with status 200 unless `status` says
        otherwise; `content_type` ("" for none), raw `headers` (`[("Retry-After", "inf")]`),
        `truncate=n` (announce the whole length, send `n` bytes, close) and `chunked=True`
        (no Content-Length). See `symbot.emulator.Body`."""
        self._faults.add(
            path,
            status=status,
            delay=delay,
            drop=drop,
            count=count,
            retry_after=retry_after,
            method=method,
            probability=probability,
            body=body,
            content_type=content_type,
            headers=headers,
            truncate=truncate,
            chunked=chunked,
            message=message,
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def received_requests(self, path: str | None = None) -> list[ReceivedRequest]:
        """The requests received so far (the latest `REQUEST_LOG_SIZE`), oldest first,
        faulted ones included; only those whose path matches `path` (`re.match`, as in
        `fault`) when given. Each carries its arrival time on the emulator's clock."""
        if path is None:
            return list(self.app.received)
        pattern = re.compile(path)
        return [request for request in self.app.received if pattern.match(request.path)]

    # -- bot configuration --------------------------------------------------------------

    def bot_config_toml(self, username: str, private_key: Path | str) -> str:
        """A symbot.toml for `username` against this served emulator (HTTPS, emulator CA)."""
        return emulator_config_toml(
            pod_url=self.https_url,
            username=username,
            private_key=private_key,
            ca_bundle=self.ca_bundle,
        )


def _kinds(session: bool, key_manager: bool) -> set[TokenKind]:
    kinds: set[TokenKind] = set()
    if session:
        kinds |= SESSION_KINDS
    if key_manager:
        kinds.add(TokenKind.KEY_MANAGER)
    return kinds
