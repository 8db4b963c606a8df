"""A pod whose clock is ten minutes off the bot's (issue 11, finding 10): symbot measures the
offset from the answers' Date header, warns once with it, builds its login JWTs on the
server's clock, and logs in once per token failure proven by a 401, never per call."""

from __future__ import annotations

import logging

import httpx
import pytest

from symbot.auth import KeyPair, ServerClock
from symbot.emulator import Emulator

from .support import BOT, KM_LOGIN, POD_LOGIN, MakeClient

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("offset", [-600.0, 600.0], ids=["pod behind", "pod ahead"])
async def test_a_pod_ten_minutes_off_is_measured_warned_about_once_and_planned_on(
    bot_keys: KeyPair, make_client: MakeClient, caplog: pytest.LogCaptureFixture, offset: float
) -> None:
    # an authorizationToken that, by our clock, has already expired on arrival (pod behind)
    emu = Emulator(clock_offset=offset, authorization_token_lifetime=300)
    emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
    with caplog.at_level(logging.WARNING, logger="symbot"):
        async with make_client(emulator=emu) as client:
            for _ in range(30):
                await client.session_info()
                await client.request("agent", "GET", "/agent/v5/datafeeds")
            assert abs(client.clock.offset - offset) < 3
            emu.revoke_tokens(BOT)  # a token failure proven by a 401: exactly one re-login
            for _ in range(10):
                await client.session_info()
    assert client.session.logins == 2
    assert emu.counters.logins[POD_LOGIN] == emu.counters.logins[KM_LOGIN] == 2
    # a JWT built on our clock was refused until the offset was known; then none was
    refused = emu.counters.login_failures[POD_LOGIN] + emu.counters.login_failures[KM_LOGIN]
    assert 1 <= refused <= 2
    warnings = [r.message for r in caplog.records if "clock" in r.message]
    assert len(warnings) == 1
    assert f"600 s {'behind' if offset < 0 else 'ahead of'} this machine's" in warnings[0]


async def test_a_pod_in_sync_gives_no_warning_and_no_offset(
    emu: Emulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="symbot"):
        async with make_client() as client:
            await client.session_info()
    assert client.clock.offset == 0
    assert emu.counters.login_failures[POD_LOGIN] == 0
    assert not [r for r in caplog.records if "clock" in r.message]


@pytest.mark.parametrize(
    "date",
    [
        "yesterday, probably",
        "Tue, 01 Jan 1980 00:00:00 GMT",  # decades off: a broken answer, not a clock
        "Tue, 01 Jan 2030 00:00:00 GMT" + " " * 100,  # longer than any Date
        "Wed, 32 Foo 2026 99:99:99 GMT",
    ],
)
def test_a_date_header_that_is_not_believable_is_ignored(date: str) -> None:
    clock = ServerClock()
    request = httpx.Request("GET", "https://pod.example/login")
    assert clock.observe(httpx.Response(200, headers={"date": date}, request=request)) is False
    assert clock.offset == 0
