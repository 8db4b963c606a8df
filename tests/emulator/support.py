"""Names and types shared by the emulator's tests and their fixtures."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

import httpx

from symbot.auth import KeyPair

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
