"""Names and types shared by the emulator's tests and their fixtures."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from symbot.auth import KeyPair
from symbot.emulator import Emulator

from . import spec_shapes as spec

BOT = "bot"
ALICE = "alice"
POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
SESSION_CERT_LOGIN = "/sessionauth/v1/authenticate"
KM_CERT_LOGIN = "/keyauth/v1/authenticate"
HEALTH = "/agent/v3/health"
GUARD = 10.0  # seconds; only a guard against hangs, never an assertion on timing

KeyPairs = tuple[KeyPair, KeyPair, KeyPair]
SignJwt = Callable[..., str]
RsaLogin = Callable[[httpx.AsyncClient, str, bytes], Awaitable[dict[str, str]]]


def assert_refused(response: httpx.Response, status: int = 401) -> None:
    """The response is an error `status` in Symphony's shape `{"code", "message"}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status
    assert isinstance(body["message"], str)
    assert body["message"]


def tls_alert_of(exc: BaseException) -> str:
    """The TLS alert behind a failed request, wherever the client library put it: httpx on
    asyncio lets the `ssl.SSLError` escape raw, on trio it is the cause of a `ReadError`."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ssl.SSLError) and "ALERT" in str(current.reason or "").upper():
            return str(current.reason)
        current = current.__cause__ or current.__context__
    return ""


class Pod:
    """The in-process emulator with bot and alice logged in, and bob and carol around."""

    def __init__(self, emu: Emulator, http: httpx.AsyncClient, keys: KeyPairs) -> None:
        self.emu, self.http, self.keys = emu, http, keys
        self.headers: dict[str, dict[str, str]] = {}
        for name in ("bob", "carol"):
            emu.add_user(name, public_key_pem=keys[2].public_key_pem)
        self.feeds = {name: emu.feed_store.create(name).feed_id for name in (BOT, ALICE, "bob")}

    def uid(self, username: str) -> int:
        return self.emu.user(username).user_id

    async def call(self, as_user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with anyio.fail_after(GUARD):
            return await self.http.request(method, path, headers=self.headers[as_user], **kwargs)

    async def events(self, username: str) -> list[dict[str, Any]]:
        with anyio.fail_after(GUARD):
            batch = await self.emu.feed_store.read(username, self.feeds[username], None)
        events = batch.decoded()
        for event in events:
            spec.assert_shape(event, spec.V4Event, "event")
        return events


def ok(response: httpx.Response, shape: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    spec.assert_shape(body, shape)
    return body
