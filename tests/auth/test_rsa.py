"""RSA login against the emulator: the JWT, both endpoints, retries, refusals, key rotation."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import anyio
import jwt
import pytest

from symbot.auth import KeyPair, RsaJwtAuth, RsaJwtLogin
from symbot.config import RetryPolicy
from symbot.emulator import Emulator
from symbot.errors import ApiError, AuthenticationError, ConfigError, NetworkError

from .support import (
    BOT,
    FAST_RETRY,
    KM_LOGIN,
    POD_LOGIN,
    MakeClient,
    emulator_transport,
    load_key,
    pem_of,
)

pytestmark = pytest.mark.anyio


async def test_rsa_login_gets_both_tokens_and_calls_the_pod(
    emu: Emulator, make_client: MakeClient
) -> None:
    async with make_client() as client:
        info = await client.session_info()
        tokens = await client.session.tokens()
    assert (info.username, info.display_name) == (BOT, "Echo Bot")
    assert info.user_id == emu.user(BOT).user_id
    assert tokens.session_token
    assert tokens.key_manager_token
    assert emu.counters.logins == {POD_LOGIN: 1, KM_LOGIN: 1}


async def test_the_login_jwt_is_rs512_for_the_user_expiring_in_240_seconds(
    bot_keys: KeyPair,
) -> None:
    provider = RsaJwtLogin(RsaJwtAuth(username=BOT, private_key=bot_keys.private_key_pem))
    before = time.time()
    token = provider.make_jwt()
    assert jwt.get_unverified_header(token)["alg"] == "RS512"
    claims = jwt.decode(token, bot_keys.public_key_pem, algorithms=["RS512"])
    assert claims["sub"] == BOT
    assert before + 239 <= claims["exp"] <= time.time() + 240
    await provider.aclose()


def test_a_jwt_lifetime_above_300_seconds_is_a_config_error(bot_keys: KeyPair) -> None:
    with pytest.raises(ConfigError, match=r"auth\.jwt_lifetime"):
        RsaJwtAuth(username=BOT, private_key=bot_keys.private_key_pem, jwt_lifetime=301)


async def test_a_wrong_key_fails_after_one_attempt_with_a_clear_error(
    emu: Emulator, make_client: MakeClient, other_keys: KeyPair
) -> None:
    wrong = RsaJwtAuth(username=BOT, private_key=other_keys.private_key_pem)
    async with make_client(auth=wrong) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.session_info()
    error = caught.value
    assert error.username == BOT
    assert error.status == 401
    assert error.endpoint.endswith(("/login/pubkey/authenticate", "/relay/pubkey/authenticate"))
    assert "public key matches" in str(error)
    assert emu.counters.logins == {}
    assert sum(emu.counters.login_failures.values()) <= 2  # pod and KM at most once each
    assert all(count == 1 for count in emu.counters.login_failures.values())


async def test_concurrent_first_calls_with_a_wrong_key_cost_one_login_attempt(
    emu: Emulator, make_client: MakeClient, other_keys: KeyPair
) -> None:
    wrong = RsaJwtAuth(username=BOT, private_key=other_keys.private_key_pem)
    failures: list[BaseException] = []

    async def call() -> None:
        try:
            await client.session_info()
        except AuthenticationError as exc:
            failures.append(exc)

    async with make_client(auth=wrong) as client, anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(call)
    assert len(failures) == 50
    assert client.session.login_failures == 1


async def test_an_unknown_user_is_named_in_the_error(
    make_client: MakeClient, bot_keys: KeyPair
) -> None:
    ghost = RsaJwtAuth(username="ghost", private_key=bot_keys.private_key_pem)
    async with make_client(auth=ghost) as client:
        with pytest.raises(AuthenticationError, match="'ghost'"):
            await client.session.tokens()


@pytest.mark.parametrize("status", [503, 429, 500])
async def test_a_transient_login_error_is_retried_and_succeeds(
    emu: Emulator, make_client: MakeClient, status: int
) -> None:
    emu.fault(POD_LOGIN, status=status, count=2, retry_after=0.01 if status == 429 else None)
    async with make_client() as client:
        assert (await client.session_info()).username == BOT
    assert emu.counters.logins == {POD_LOGIN: 1, KM_LOGIN: 1}
    assert client.session.logins == 1


async def test_a_dropped_connection_at_login_is_retried(
    emu: Emulator, make_client: MakeClient
) -> None:
    emu.fault(KM_LOGIN, drop=True, count=1)
    async with make_client() as client:
        await client.session.tokens()
    assert emu.counters.logins[KM_LOGIN] == 1


async def test_a_login_that_stays_unavailable_gives_up_after_max_attempts(
    emu: Emulator, make_client: MakeClient
) -> None:
    emu.fault(POD_LOGIN, status=503, count=100)
    async with make_client() as client:
        with pytest.raises(ApiError) as caught:
            await client.session.tokens()
    assert caught.value.status == 503
    assert emu.counters.faults_injected == FAST_RETRY.max_attempts


async def test_a_login_whose_connection_keeps_dropping_raises_transport_error(
    emu: Emulator, make_client: MakeClient
) -> None:
    emu.fault(POD_LOGIN, drop=True, count=100)
    async with make_client(retry=RetryPolicy(initial=0.01, max_attempts=2)) as client:
        with pytest.raises(NetworkError, match=r"login/pubkey/authenticate.*2 attempt"):
            await client.session.tokens()


async def test_the_previous_key_is_tried_once_when_the_current_is_refused(
    emu: Emulator,
    make_client: MakeClient,
    bot_keys: KeyPair,
    other_keys: KeyPair,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The bot already has its new key (other_keys); the pod still knows only the old one.
    rotating = RsaJwtAuth(
        username=BOT,
        private_key=other_keys.private_key_pem,
        previous_private_key=bot_keys.private_key_pem,
    )
    with caplog.at_level(logging.WARNING, logger="symbot"):
        async with make_client(auth=rotating) as client:
            assert (await client.session_info()).username == BOT
    assert emu.counters.logins == {POD_LOGIN: 1, KM_LOGIN: 1}
    assert any("previous key" in record.getMessage() for record in caplog.records)


async def test_when_both_keys_are_refused_the_error_says_so(
    make_client: MakeClient, other_keys: KeyPair
) -> None:
    rotating = RsaJwtAuth(
        username=BOT,
        private_key=other_keys.private_key_pem,
        previous_private_key=other_keys.private_key_pem,
    )
    async with make_client(auth=rotating) as client:
        with pytest.raises(AuthenticationError, match="both the current and the previous key"):
            await client.session.tokens()


async def test_after_a_pod_side_rotation_the_new_key_logs_in(
    emu: Emulator, make_client: MakeClient
) -> None:
    rotated = emu.rotate_key(BOT)
    assert rotated.private_key_pem is not None
    auth = RsaJwtAuth(username=BOT, private_key=rotated.private_key_pem)
    async with make_client(auth=auth) as client:
        await client.session.tokens()


async def test_an_encrypted_key_file_with_a_passphrase_from_the_environment(
    emu: Emulator,
    make_client: MakeClient,
    bot_keys: KeyPair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "bot.pem"
    path.write_bytes(pem_of(load_key(bot_keys), pkcs1=True, passphrase=b"open sesame"))
    monkeypatch.setenv("BOT_KEY_PASSPHRASE", "open sesame")
    auth = RsaJwtAuth(username=BOT, private_key=path, passphrase_env="BOT_KEY_PASSPHRASE")
    async with make_client(auth=auth) as client:
        await client.session.tokens()
    monkeypatch.delenv("BOT_KEY_PASSPHRASE")
    with pytest.raises(ConfigError, match="BOT_KEY_PASSPHRASE is not set"):  # at load, not later
        RsaJwtAuth(username=BOT, private_key=path, passphrase_env="BOT_KEY_PASSPHRASE")


async def test_a_provider_works_without_a_symphony_client(emu: Emulator, bot_keys: KeyPair) -> None:
    provider = RsaJwtLogin(RsaJwtAuth(username=BOT, private_key=bot_keys.private_key_pem))
    async with emulator_transport(emu) as transport:
        tokens = await provider.login(transport)
    assert tokens.session_token != tokens.key_manager_token
    assert emu.counters.logins == {POD_LOGIN: 1, KM_LOGIN: 1}
