"""AuthSession against the emulator: single-flight refresh, the 401 replay, and the
background refresher that keeps a bot from ever meeting a 401."""

from __future__ import annotations

import anyio
import httpx
import pytest

from symbot.auth import AuthSession, KeyPair, RsaJwtAuth, RsaJwtLogin, Tokens
from symbot.client import SymphonyClient
from symbot.config import BotConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.transport import Transport

from .support import BOT, KM_LOGIN, POD_LOGIN, MakeClient, emulator_transport

pytestmark = pytest.mark.anyio


class PlainHttpProvider:
    """A user's own AuthProvider: logs in to the emulator with raw httpx and a signed JWT."""

    def __init__(self, emu: Emulator, keys: KeyPair) -> None:
        self._jwt = RsaJwtLogin(RsaJwtAuth(username=BOT, private_key=keys.private_key_pem))
        self._http = httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url)
        self.calls = 0

    async def login(self, transport: Transport) -> Tokens:
        self.calls += 1
        body = {"token": self._jwt.make_jwt()}
        pod = await self._http.post(POD_LOGIN, json=body)
        km = await self._http.post(KM_LOGIN, json=body)
        return Tokens(session_token=pod.json()["token"], key_manager_token=km.json()["token"])

    async def aclose(self) -> None:
        await self._http.aclose()


@pytest.fixture
def provider(emu: Emulator, bot_keys: KeyPair) -> PlainHttpProvider:
    return PlainHttpProvider(emu, bot_keys)


@pytest.fixture
def transport(emu: Emulator) -> Transport:
    """What a provider is handed to log in with (this test's own provider ignores it)."""
    return emulator_transport(emu)


async def test_refresh_of_already_replaced_tokens_returns_the_new_ones_without_login(
    provider: PlainHttpProvider,
    transport: Transport,
) -> None:
    session = AuthSession(provider, transport)
    first = await session.tokens()
    second = await session.refresh(stale=first)
    again = await session.refresh(stale=first)
    assert second is not first
    assert again is second
    assert session.logins == provider.calls == 2
    forced = await session.refresh()
    assert forced is not second
    assert session.logins == 3
    await provider.aclose()


async def test_concurrent_first_calls_log_in_once(
    provider: PlainHttpProvider, transport: Transport
) -> None:
    session = AuthSession(provider, transport)
    results: list[Tokens] = []

    async def get() -> None:
        results.append(await session.tokens())

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(get)
    assert provider.calls == 1
    assert all(tokens is results[0] for tokens in results)
    await provider.aclose()


async def test_a_user_provider_plugs_into_the_client(
    emu: Emulator, provider: PlainHttpProvider
) -> None:
    config = BotConfig(pod_url=emu.base_url)
    async with SymphonyClient(config, provider=provider, transport=emu.transport()) as client:
        assert client.provider is provider
        assert (await client.session_info()).username == BOT
    await provider.aclose()


async def _storm(client: SymphonyClient, calls: int) -> None:
    async def pod_call() -> None:
        await client.session_info()

    async def agent_call() -> None:
        await client.request("agent", "GET", "/agent/v5/datafeeds")

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for index in range(calls):
                tg.start_soon(pod_call if index % 2 else agent_call)


async def test_200_concurrent_calls_after_revocation_cost_one_pod_and_one_km_login(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        await client.session_info()
        emu.revoke_tokens(BOT)
        before = dict(emu.counters.logins)
        await _storm(client, 200)
    assert emu.counters.logins[POD_LOGIN] - before[POD_LOGIN] == 1
    assert emu.counters.logins[KM_LOGIN] - before[KM_LOGIN] == 1
    assert emu.counters.unauthorized == 200
    assert client.session.logins == 2


async def test_the_storm_over_real_http_also_costs_one_login_each(
    bot_keys: KeyPair, make_client: MakeClient
) -> None:
    async with Emulator() as served:
        served.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
        client = SymphonyClient(
            BotConfig(
                pod_url=served.http_url,
                auth=RsaJwtAuth(username=BOT, private_key=bot_keys.private_key_pem),
            )
        )
        async with client:
            await client.session_info()
            served.revoke_tokens(BOT)
            await _storm(client, 200)
        assert served.counters.logins == {POD_LOGIN: 2, KM_LOGIN: 2}
        assert served.counters.unauthorized == 200


async def test_expired_tokens_are_refreshed_and_the_call_replayed(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        stale = await client.session.tokens()
        emu.expire_tokens(BOT)
        response = await client.request("agent", "GET", "/agent/v5/datafeeds")
    assert response.status_code == 200
    assert client.session.current is not stale


async def _steady_traffic(client: SymphonyClient, seconds: float) -> int:
    calls = 0
    with anyio.move_on_after(seconds):
        while True:
            await client.session_info()
            await client.request("agent", "GET", "/agent/v5/datafeeds")
            calls += 2
            await anyio.sleep(0.01)
    return calls


async def test_proactive_refresh_over_ten_token_lifetimes_serves_no_401(
    bot_keys: KeyPair, make_client: MakeClient
) -> None:
    emu = Emulator(session_token_lifetime=1.0, km_token_lifetime=1.0)
    emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
    async with make_client(emulator=emu, max_token_age=1.0) as client:
        calls = await _steady_traffic(client, 10.0)
    assert calls > 100
    assert emu.counters.unauthorized == 0
    assert client.session.logins >= 10


async def test_the_authorization_token_expiry_plans_no_relogin(
    bot_keys: KeyPair, make_client: MakeClient
) -> None:
    """The short-lived access token of a login answer lives on its own clock: its `exp` is
    not the session's, so steady traffic past it costs no login at all."""
    emu = Emulator(authorization_token_lifetime=0.3)
    emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
    async with make_client(emulator=emu) as client:
        tokens = await client.session.tokens()
        assert tokens.authorization_token is not None
        assert tokens.expires_at is None
        assert client.session.next_refresh_in(tokens) is None
        calls = await _steady_traffic(client, 1.5)
    assert calls > 20
    assert client.session.logins == 1
    assert emu.counters.logins[POD_LOGIN] == emu.counters.logins[KM_LOGIN] == 1


async def test_a_failed_background_refresh_is_retried_while_current_tokens_stay_in_use(
    emu: Emulator, make_client: MakeClient
) -> None:
    policy = RetryPolicy(initial=0.05, maximum=0.2, max_attempts=1)
    async with make_client(max_token_age=0.5, retry=policy) as client:
        await client.session_info()
        emu.fault(POD_LOGIN, status=503, count=3)
        with anyio.fail_after(20):
            while client.session.logins < 2:
                await client.session_info()
                await anyio.sleep(0.01)
    assert client.session.login_failures == 3
    assert emu.counters.unauthorized == 0


async def test_leaving_the_session_stops_the_refresher_at_once(
    provider: PlainHttpProvider,
    transport: Transport,
) -> None:
    session = AuthSession(provider, transport, max_token_age=3600)
    with anyio.fail_after(5):
        async with session:
            await session.tokens()
    assert session.logins == 1
    await provider.aclose()


async def test_an_error_in_the_session_body_propagates_unwrapped(
    provider: PlainHttpProvider,
    transport: Transport,
) -> None:
    with pytest.raises(LookupError, match="boom"):
        async with AuthSession(provider, transport):
            raise LookupError("boom")
    await provider.aclose()


async def test_the_refresher_idles_when_nothing_says_when_tokens_expire(
    provider: PlainHttpProvider,
    transport: Transport,
) -> None:
    async with AuthSession(provider, transport) as session:
        tokens = await session.tokens()
        assert session.next_refresh_in(tokens) is None
        await anyio.sleep(0.2)
    assert provider.calls == 1
    await provider.aclose()


class NeverCalledProvider:
    async def login(self, transport: Transport) -> Tokens:
        raise AssertionError("a synchronous client must not reach the login")

    async def aclose(self) -> None:
        pass


def test_the_auth_flow_refuses_synchronous_clients() -> None:
    session = AuthSession(NeverCalledProvider(), emulator_transport(Emulator()))
    with (
        httpx.Client(auth=session.auth) as client,
        pytest.raises(RuntimeError, match="async only"),
    ):
        client.get("http://emulator.invalid/pod/v2/sessioninfo")
