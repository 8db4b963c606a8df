"""SymphonyClient against the emulator: roles, trace ids, the retry policy and error mapping."""

from __future__ import annotations

import logging

import anyio
import pytest

from symbot.client import SymphonyClient
from symbot.config import BotConfig, RetryPolicy, Timeouts
from symbot.emulator import Emulator
from symbot.errors import ApiError, ConfigError, NetworkError, RateLimitedError

from .support import BOT, FAST_RETRY, MakeClient

pytestmark = pytest.mark.anyio

FEEDS = "/agent/v5/datafeeds"


async def test_every_request_carries_its_own_trace_id(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="symbot.transport"):
        async with make_client() as client:
            first = await client.request("pod", "GET", "/pod/v2/sessioninfo")
            second = await client.request("agent", "GET", FEEDS)
    trace_ids = {r.request.headers["X-Trace-Id"] for r in (first, second)}
    assert len(trace_ids) == 2
    logged = caplog.text
    assert all(f"trace={trace}" in logged for trace in trace_ids)


async def test_roles_get_their_urls_and_timeouts(emu: Emulator, make_client: MakeClient) -> None:
    async with make_client(
        agent_url="https://agent.invalid:8443/",
        timeouts=Timeouts(agent=50.0, pod=20.0, connect=3.0),
    ) as client:
        response = await client.request("agent", "GET", FEEDS)
        assert response.request.url.host == "agent.invalid"
        assert response.request.url.port == 8443
        assert client.pod.base_url.host == "emulator.invalid"
        assert client.http("key_manager").base_url.host == "emulator.invalid"
        assert client.agent.timeout.read == 50.0
        assert client.pod.timeout.read == 20.0
        assert client.pod.timeout.connect == 3.0
        assert client.http("key_manager") is client.http("key_manager")


def test_the_agent_read_timeout_outlasts_the_datafeed_long_poll() -> None:
    assert Timeouts().agent > 30.0


async def test_a_transient_503_is_retried(emu: Emulator, make_client: MakeClient) -> None:
    async with make_client() as client:
        emu.fault(FEEDS, status=503, count=2)
        response = await client.request("agent", "GET", FEEDS)
    assert response.status_code == 200
    assert emu.counters.faults_injected == 2


async def test_retry_after_is_honoured_then_the_call_succeeds(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        emu.fault(FEEDS, status=429, count=1, retry_after=0.05)
        response = await client.request("agent", "GET", FEEDS)
    assert response.status_code == 200


async def test_a_429_that_outlives_the_policy_is_rate_limited_error(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        emu.fault(FEEDS, status=429, count=100)
        with pytest.raises(RateLimitedError) as caught:
            await client.request("agent", "GET", FEEDS)
    assert caught.value.status == 429
    assert emu.counters.faults_injected == FAST_RETRY.max_attempts


async def test_a_dropped_connection_is_retried_and_then_a_transport_error(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client(retry=RetryPolicy(initial=0.01, max_attempts=3)) as client:
        await client.session.tokens()
        emu.fault(FEEDS, drop=True, count=1)
        assert (await client.request("agent", "GET", FEEDS)).status_code == 200
        emu.fault(FEEDS, drop=True, count=100)
        with pytest.raises(NetworkError, match=r"GET .*/agent/v5/datafeeds.*3 attempt"):
            await client.request("agent", "GET", FEEDS)


async def test_an_error_status_is_an_api_error_unless_the_caller_wants_the_response(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        with pytest.raises(ApiError) as caught:
            await client.request("agent", "DELETE", f"{FEEDS}/no-such-feed")
        response = await client.request(
            "agent", "DELETE", f"{FEEDS}/no-such-feed", raise_for_status=False
        )
    assert caught.value.status == response.status_code
    assert response.status_code >= 400
    assert emu.counters.faults_injected == 0


async def test_client_errors_are_not_retried(emu: Emulator, make_client: MakeClient) -> None:
    async with make_client() as client:
        await client.session.tokens()
        before = emu.counters.requests
        with pytest.raises(ApiError):
            await client.request("pod", "GET", "/pod/v9/nothing-here")
    assert emu.counters.requests - before == 1


async def test_leaving_the_client_closes_it_even_when_cancelled(make_client: MakeClient) -> None:
    client = make_client()
    with anyio.CancelScope() as scope:
        async with client:
            key_manager = client.http("key_manager")
            await client.session.tokens()
            scope.cancel()
            await anyio.sleep(10)
    assert client.pod.is_closed
    assert client.agent.is_closed
    assert key_manager.is_closed


async def test_session_info_is_typed(emu: Emulator, make_client: MakeClient) -> None:
    async with make_client() as client:
        info = await client.session_info()
    user = emu.user(BOT)
    assert info.user_id == user.user_id
    assert info.username == BOT
    assert info.email == user.email


def test_auth_that_is_neither_credentials_nor_a_provider_is_a_config_error(
    emu: Emulator,
) -> None:
    class NotAuth:
        pass

    with pytest.raises(ConfigError, match="'auth'"):
        SymphonyClient(BotConfig(pod_url=emu.base_url, auth=NotAuth()))  # type: ignore[arg-type]
