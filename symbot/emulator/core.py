"""The Emulator: a whole Symphony deployment (pod, Key Manager, session auth, agent) in one object.

In-process, `emu.app` is an ASGI app and `emu.transport()` an httpx transport for it, so a
test needs no sockets. Served, `async with Emulator() as emu` listens on loopback: plain HTTP
on `emu.http_url` and TLS on `emu.https_url`, whose certificate the emulator's own CA issued
(trust it with `emu.ca_bundle`). The HTTPS listener asks for, but does not require, a client
certificate, so certificate login and every other endpoint share one origin.

The controls (`add_user`, `issue_certificate`, `send`, `expire_tokens`, `fault`, ...) change
the emulator's state directly, as a pod administrator or another user would.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from attrs import field, frozen

from symbot.emulator.app import Counters, EmulatorApp
from symbot.emulator.asgi import DropConnection
from symbot.emulator.auth_routes import AuthRoutes
from symbot.emulator.ca import CertificateAuthority, IssuedCertificate
from symbot.emulator.directory import UserDirectory
from symbot.emulator.faults import FaultInjector
from symbot.emulator.feeds import FeedInfo, FeedStore
from symbot.emulator.keys import UserKeys, generate_rsa_key_pair, load_rsa_public_key, write_private
from symbot.emulator.tokens import TokenStore

__all__ = ["EmulatedUser", "Emulator", "emulator_config_toml"]

IN_PROCESS_URL = "http://emulator.invalid"
_T = TypeVar("_T")


@frozen
class EmulatedUser:
    """A user of the emulated pod and the key it logs in with.

    `private_key_pem` is set only when the emulator generated the key pair.
    """

    user_id: int
    username: str
    display_name: str
    email: str
    public_key_pem: bytes
    private_key_pem: bytes | None = field(default=None, repr=False)

    def write_private_key(self, path: Path | str) -> Path:
        """Write the generated private key (PKCS#8 PEM) to `path` with mode 0600."""
        if self.private_key_pem is None:
            raise ValueError(
                f"the emulator did not generate {self.username!r}'s key; use your own key file"
            )
        return write_private(Path(path), self.private_key_pem)


class _InProcessTransport(httpx.AsyncBaseTransport):
    """httpx.ASGITransport, except that a dropped connection looks like one to the client."""

    def __init__(self, app: EmulatorApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except DropConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


class Emulator:
    """See the module docstring. Lifetimes are in seconds; token lifetimes use `time.time()`."""

    base_url = IN_PROCESS_URL

    def __init__(
        self,
        *,
        session_token_lifetime: float = 3600.0,
        km_token_lifetime: float = 3600.0,
        authorization_token_lifetime: float | None = None,
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
        self.tokens = TokenStore(
            session_lifetime=session_token_lifetime,
            key_manager_lifetime=km_token_lifetime,
            authorization_lifetime=authorization_token_lifetime,
        )
        self.feed_store = FeedStore(
            visibility_timeout=visibility_timeout,
            long_poll_timeout=long_poll_timeout,
            feed_ttl=feed_ttl,
            max_batch=max_batch,
            max_feeds_per_user=max_feeds_per_user,
        )
        self.ca = CertificateAuthority.create()
        self._server_certificate = self.ca.issue_server(
            list(dict.fromkeys(["127.0.0.1", "localhost", host]))
        )
        self._foreign_ca: CertificateAuthority | None = None
        self._keys: dict[str, UserKeys] = {}
        self._users: dict[str, EmulatedUser] = {}
        self._faults = FaultInjector()
        self.counters = Counters(feed=self.feed_store.counters)
        auth = AuthRoutes(
            directory=self.directory,
            keys=self._keys,
            tokens=self.tokens,
            ca=self.ca,
            counters=self.counters,
            strict_content_type=strict_content_type,
        )
        self.app = EmulatorApp(
            routes=[*auth.routes()],
            tokens=self.tokens,
            faults=self._faults,
            counters=self.counters,
        )
        self._stack: AsyncExitStack | None = None
        self._http_url: str | None = None
        self._https_url: str | None = None
        self._ca_bundle: Path | None = None

    # -- in-process and served access ---------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport to the in-process app; use it with `base_url`."""
        return _InProcessTransport(self.app)

    async def __aenter__(self) -> Emulator:
        """Serve on loopback: HTTP on `http_url`, TLS (emulator CA) on `https_url`."""
        if self._stack is not None:
            raise RuntimeError("this emulator is already serving; enter it only once")
        from symbot.emulator.server import AsgiServer, server_ssl_context

        stack = AsyncExitStack()
        try:
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
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._http_url, self._https_url, self._ca_bundle = http.url, https.url, ca_bundle
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        self._http_url = self._https_url = self._ca_bundle = None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

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
        private_pem = None
        if public_key_pem is None:
            pair = generate_rsa_key_pair(key_size)
            public_key_pem, private_pem = pair.public_key_pem, pair.private_key_pem
        keys = UserKeys(
            current=load_rsa_public_key(public_key_pem, what=f"{username}'s public key"),
            previous=None
            if previous_public_key_pem is None
            else load_rsa_public_key(previous_public_key_pem, what=f"{username}'s previous key"),
            previous_expires_at=previous_key_expires_at,
        )
        record = self.directory.add(username, display_name=display_name, email=email)
        self._keys[username] = keys
        user = EmulatedUser(
            user_id=record.user_id,
            username=username,
            display_name=record.display_name,
            email=record.email,
            public_key_pem=public_key_pem,
            private_key_pem=private_pem,
        )
        self._users[username] = user
        return user

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
        old = self.user(username)
        private_pem = None
        if public_key_pem is None:
            pair = generate_rsa_key_pair(key_size)
            public_key_pem, private_pem = pair.public_key_pem, pair.private_key_pem
        self._keys[username] = UserKeys(
            current=load_rsa_public_key(public_key_pem, what=f"{username}'s public key"),
            previous=self._keys[username].current,
            previous_expires_at=None
            if previous_key_lifetime is None
            else time.time() + previous_key_lifetime,
        )
        user = EmulatedUser(
            user_id=old.user_id,
            username=username,
            display_name=old.display_name,
            email=old.email,
            public_key_pem=public_key_pem,
            private_key_pem=private_pem,
        )
        self._users[username] = user
        return user

    def user(self, username: str) -> EmulatedUser:
        try:
            return self._users[username]
        except KeyError:
            raise KeyError(
                f"no user {username!r} in the emulator; add it first with add_user({username!r})"
            ) from None

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

    def expire_tokens(self, username: str) -> None:
        """Every token `username` holds now answers 401, as if its lifetime had run out."""
        self.user(username)
        self.tokens.expire(username)

    def revoke_tokens(self, username: str) -> None:
        """Every token `username` holds now answers 401, as after an admin's logout."""
        self.user(username)
        self.tokens.revoke(username)

    def fault(
        self,
        path: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        count: int = 1,
        retry_after: float | None = None,
        method: str | None = None,
        probability: float | None = None,
    ) -> None:
        """Make the next `count` requests whose path matches `path` (`re.match`: a plain path
        is a prefix) fail: `delay` seconds first, then `status` (with `Retry-After` if given)
        or a dropped connection. With `probability`, each matching request fails with that
        probability until `clear_faults()`. See symbot.emulator.faults."""
        self._faults.add(
            path,
            status=status,
            delay=delay,
            drop=drop,
            count=count,
            retry_after=retry_after,
            method=method,
            probability=probability,
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- datafeeds ----------------------------------------------------------------------

    def inject_event(
        self, event: Mapping[str, Any] | str, *, to: Sequence[str] | None = None
    ) -> None:
        """Put a raw event (a V4Event dict, or JSON text, possibly malformed) into the feeds
        of the users `to` (default: every user)."""
        usernames = list(to) if to is not None else [user.username for user in self.directory]
        self.feed_store.publish(usernames, event)

    def feeds(self, username: str | None = None) -> list[FeedInfo]:
        return self.feed_store.feeds(username)

    def delete_feed(self, feed_id: str) -> None:
        self.feed_store.delete(feed_id)

    # -- bot configuration --------------------------------------------------------------

    def bot_config_toml(self, username: str, private_key: Path | str) -> str:
        """A symbot.toml for `username` against this served emulator (HTTPS, emulator CA)."""
        return emulator_config_toml(
            pod_url=self.https_url,
            username=username,
            private_key=private_key,
            ca_bundle=self.ca_bundle,
        )


def emulator_config_toml(
    *, pod_url: str, username: str, private_key: Path | str, ca_bundle: Path | str | None = None
) -> str:
    """A ready symbot.toml: every role on `pod_url`, RSA login as `username` with the key
    file `private_key`, trusting `ca_bundle` when given."""
    lines = [
        "# symbot configuration for the symbot emulator",
        f"pod_url = {_toml_string(pod_url)}",
    ]
    if ca_bundle is not None:
        lines.append(f"ca_bundle = {_toml_string(str(ca_bundle))}")
    lines += [
        "",
        "[auth]",
        f"username = {_toml_string(username)}",
        f"private_key = {_toml_string(str(private_key))}",
        "",
    ]
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON string escapes are a subset of TOML's."""
    return json.dumps(value)
