"""Names and helpers shared by the services' tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from symbot.auth import RsaJwtAuth
from symbot.client import SymphonyClient
from symbot.config import BotConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.emulator._keys import KeyPair

BOT = "bot"
PEOPLE = {"alice": "Alice Liddell", "bob": "Bob Jones", "carol": "Carol King"}
FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05, max_attempts=3)
GUARD = 10.0  # seconds; a guard against hangs, never an assertion on timing


def pod_with_people(keys: KeyPair) -> Emulator:
    """An in-process emulator with the bot and three people (who share the bot's public key:
    they never log in, they act through the emulator's controls)."""
    emu = Emulator()
    emu.add_user(BOT, display_name="Order Bot", public_key_pem=keys.public_key_pem)
    for username, display in PEOPLE.items():
        emu.add_user(username, display_name=display, public_key_pem=keys.public_key_pem)
    return emu


def bot_config(pod_url: str, keys: KeyPair, **changes: Any) -> BotConfig:
    return BotConfig(
        pod_url=pod_url,
        auth=RsaJwtAuth(username=BOT, private_key=keys.private_key_pem),
        retry=FAST_RETRY,
        **changes,
    )


def user_id(emu: Emulator, username: str) -> int:
    return emu.user(username).user_id


async def events_of(emu: Emulator, username: str, feed_id: str) -> list[dict[str, Any]]:
    """The events waiting in `feed_id` of `username` (read once, acknowledged later)."""
    with anyio.fail_after(GUARD):
        batch = await emu.feed_store.read(username, feed_id, None)
    return batch.decoded()


def hostile_client(
    answer: Callable[[httpx.Request], httpx.Response], keys: KeyPair
) -> SymphonyClient:
    """A client of a pod and agent that answer every call with `answer(request)`, logins
    included unless `answer` handles them: a server that misbehaves on purpose."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/pubkey/authenticate"):
            name = "sessionToken" if request.url.path.startswith("/login") else "keyManagerToken"
            return httpx.Response(200, json={"name": name, "token": f"{name}-1"})
        return answer(request)

    config = BotConfig(
        pod_url="https://pod.invalid",
        auth=RsaJwtAuth(username=BOT, private_key=keys.private_key_pem),
        retry=FAST_RETRY,
    )
    return SymphonyClient(config, transport=httpx.MockTransport(handle))


def json_answer(status: int, payload: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(payload).encode())
