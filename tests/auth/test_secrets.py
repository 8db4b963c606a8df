"""No secret in logs, reprs or exception text: a whole auth life (login, retries, 401 storm,
failed background refresh, refused key) at DEBUG, checked against the real token values."""

from __future__ import annotations

import logging

import anyio
import pytest

from symbot.auth import KeyPair, RsaJwtAuth, Tokens
from symbot.config import RetryPolicy
from symbot.emulator import Emulator
from symbot.errors import ApiError, AuthenticationError

from .support import BOT, KM_LOGIN, POD_LOGIN, MakeClient, load_key, pem_of

pytestmark = pytest.mark.anyio

PASSPHRASE = "correct horse battery staple"


def _secrets_of(tokens: Tokens) -> list[str]:
    found = [tokens.session_token, tokens.key_manager_token, tokens.authorization_token]
    return [token for token in found if token]


async def test_no_secret_reaches_logs_reprs_or_errors(
    bot_keys: KeyPair,
    other_keys: KeyPair,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = Emulator(authorization_token_lifetime=600)
    emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
    encrypted = pem_of(load_key(bot_keys), passphrase=PASSPHRASE.encode()).decode()
    auth = RsaJwtAuth(username=BOT, private_key=encrypted, passphrase=PASSPHRASE)
    secrets = [PASSPHRASE, *encrypted.splitlines()[1:-1]]
    secrets += bot_keys.private_key_pem.decode().splitlines()[1:-1]
    texts: list[str] = []
    policy = RetryPolicy(initial=0.01, maximum=0.02, max_attempts=2)

    with caplog.at_level(logging.DEBUG):
        async with make_client(emulator=emu, auth=auth, retry=policy, max_token_age=0.3) as client:
            emu.fault(POD_LOGIN, status=503, count=1)
            await client.session_info()
            secrets += _secrets_of(await client.session.tokens())
            emu.revoke_tokens(BOT)
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(client.session_info)
            secrets += _secrets_of(await client.session.tokens())
            emu.fault(KM_LOGIN, status=503, count=4)  # background refreshes fail, then recover
            with anyio.fail_after(20):
                while client.session.login_failures < 1 or emu.counters.faults_injected < 5:
                    await client.session_info()  # the current tokens stay in use meanwhile
                    await anyio.sleep(0.02)
            with pytest.raises(ApiError) as api_error:
                await client.request("agent", "DELETE", "/agent/v5/datafeeds/nope")
            secrets += _secrets_of(await client.session.tokens())
            texts += [repr(client.config), repr(client.provider), repr(client.session.current)]
            texts += [str(api_error.value), repr(api_error.value)]

        wrong = RsaJwtAuth(username=BOT, private_key=other_keys.private_key_pem)
        async with make_client(emulator=emu, auth=wrong) as refused:
            with pytest.raises(AuthenticationError) as auth_error:
                await refused.session.tokens()
        texts += [str(auth_error.value), repr(auth_error.value)]
        secrets += other_keys.private_key_pem.decode().splitlines()[1:-1]

    records = [r for r in caplog.records if not r.name.startswith("symbot.emulator")]
    assert any(r.name.startswith("symbot") for r in records)
    texts += [r.getMessage() for r in records]
    texts += [str(r.exc_info[1]) for r in records if r.exc_info and r.exc_info[1]]
    everything = "\n".join(texts)
    leaked = [s for s in secrets if s and s in everything]
    assert leaked == []
    assert "re-login failed" in everything  # renewals ridden out while tokens stay in use
    assert "retrying" in everything
