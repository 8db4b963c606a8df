"""Short-lived access tokens (beta on Symphony's side): obtained from /login/idm/tokens only
when asked for, cached per scope, renewed ahead of their own expiry without ever re-logging
the session in, and a 401 there renews the session once."""

from __future__ import annotations

import logging

import anyio
import jwt
import pytest

from symbot.auth import KeyPair
from symbot.emulator import Emulator
from symbot.errors import ApiError

from .support import BOT, POD_LOGIN, MakeClient

pytestmark = pytest.mark.anyio

IDM_TOKENS = "/login/idm/tokens"


def claims_of(emu: Emulator, token: str) -> dict[str, object]:
    verified: dict[str, object] = jwt.decode(
        token, emu.tokens.authorization_public_key_pem, algorithms=["ES256"]
    )
    return verified


async def test_no_access_token_is_fetched_unless_asked_for(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        await client.session_info()
    assert emu.counters.access_tokens == 0


async def test_access_tokens_are_cached_per_scope_and_verify(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        plain = await client.session.access_token()
        scoped = await client.session.access_token(scope="dlm:manage")
        assert await client.session.access_token() == plain
        assert await client.session.access_token(scope="dlm:manage") == scoped
    assert claims_of(emu, scoped)["scope"] == "dlm:manage"
    assert claims_of(emu, plain)["sub"] == BOT
    assert emu.counters.access_tokens == 2
    assert emu.counters.logins[POD_LOGIN] == 1


async def test_an_access_token_is_renewed_ahead_of_its_expiry_without_a_relogin(
    bot_keys: KeyPair, make_client: MakeClient
) -> None:
    emu = Emulator(access_token_lifetime=3)  # whole seconds: the JWT's exp is a NumericDate
    emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
    async with make_client(emulator=emu) as client:
        first = await client.session.access_token()
        renewed = first
        with anyio.fail_after(10):
            while renewed == first:
                await anyio.sleep(0.05)
                renewed = await client.session.access_token()
        # renewed ahead of the expiry: the old one is still valid when replaced
        assert float(claims_of(emu, first)["exp"]) > emu.clock() - 1  # type: ignore[arg-type]
    assert emu.counters.logins[POD_LOGIN] == 1
    assert emu.counters.access_tokens == 2


async def test_a_revoked_session_is_renewed_once_then_the_access_token_obtained(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        await client.session_info()
        emu.revoke_tokens(BOT)
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(client.session.access_token, "a:b")
        assert emu.counters.access_tokens == 1
    assert emu.counters.logins[POD_LOGIN] == 2


async def test_an_access_token_refusal_is_an_api_error_naming_the_endpoint(
    emu: Emulator, make_client: MakeClient
) -> None:
    emu.fault(IDM_TOKENS, status=403, message="The user lacks the required entitlement")
    async with make_client() as client:
        with pytest.raises(ApiError, match="403: The user lacks the required entitlement"):
            await client.session.access_token(scope="dlm:manage")
        assert client.session.health.ok  # the bot's own session is not affected


async def test_an_access_token_from_a_pod_ten_minutes_behind_is_not_taken_for_expired(
    bot_keys: KeyPair, make_client: MakeClient
) -> None:
    emu = Emulator(clock_offset=-600, access_token_lifetime=300)
    emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
    async with make_client(emulator=emu) as client:
        tokens = {await client.session.access_token() for _ in range(20)}
    assert len(tokens) == 1
    assert emu.counters.access_tokens == 1


async def test_no_access_token_reaches_logs_or_reprs(
    emu: Emulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with make_client() as client:
            token = await client.session.access_token(scope="dlm:manage")
            emu.revoke_tokens(BOT)
            await client.session_info()
            texts = [repr(client.session.current), repr(client.session.health)]
    texts += [record.getMessage() for record in caplog.records]
    assert token not in "\n".join(texts)
