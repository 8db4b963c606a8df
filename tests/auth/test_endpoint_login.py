"""Logging in to one endpoint at a time (`login_endpoint`): what each endpoint granted, a
refusal by one that leaves the other standing, the previous key reported when only it was
accepted, and refusals that carry what the server said, redacted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from symbot.auth import (
    CertificateAuth,
    EndpointAuthProvider,
    KeyPair,
    RsaJwtAuth,
    RsaJwtLogin,
    provider_for,
)
from symbot.emulator import Emulator
from symbot.errors import AuthenticationError
from symbot.transport import Transport

from .support import BOT, FAST_RETRY, KM_LOGIN, POD_LOGIN, emulator_transport, served_transport

pytestmark = pytest.mark.anyio

SESSION_AUTH = "/sessionauth/v1/authenticate"
KEY_AUTH = "/keyauth/v1/authenticate"
BAD_SIGNATURE = "invalid token signature, or the user's public key is not imported"


@asynccontextmanager
async def rsa_login(
    emu: Emulator, private_key: KeyPair, previous: KeyPair | None = None
) -> AsyncIterator[tuple[RsaJwtLogin, Transport]]:
    auth = RsaJwtAuth(
        username=BOT,
        private_key=private_key.private_key_pem,
        previous_private_key=previous.private_key_pem if previous else None,
    )
    provider = RsaJwtLogin(auth)
    async with emulator_transport(emu, retry=FAST_RETRY) as transport:
        yield provider, transport


async def test_each_endpoint_logs_in_alone_and_says_what_it_granted(bot_keys: KeyPair) -> None:
    emu = Emulator(authorization_token_lifetime=3600)
    emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
    async with rsa_login(emu, bot_keys) as (provider, transport):
        assert isinstance(provider, EndpointAuthProvider)
        assert provider.login_roles == ("pod", "key_manager")
        pod = await provider.login_endpoint(transport, "pod")
        assert emu.counters.logins == {POD_LOGIN: 1}
        key_manager = await provider.login_endpoint(transport, "key_manager")
    assert emu.counters.logins == {POD_LOGIN: 1, KM_LOGIN: 1}
    assert (pod.role, key_manager.role) == ("pod", "key_manager")
    assert pod.endpoint == f"POST {emu.base_url}{POD_LOGIN}"
    assert key_manager.endpoint == f"POST {emu.base_url}{KM_LOGIN}"
    assert pod.token
    assert key_manager.token not in ("", pod.token)
    assert pod.expires_at is not None  # the pod announced it (authorizationToken)
    assert key_manager.expires_at is None
    assert (pod.used_previous_key, key_manager.used_previous_key) == (False, False)
    assert pod.token not in repr(pod)


async def test_a_key_manager_refusal_leaves_the_pod_login_standing(
    emu: Emulator, bot_keys: KeyPair
) -> None:
    emu.fault(KM_LOGIN, status=401)
    async with rsa_login(emu, bot_keys) as (provider, transport):
        pod = await provider.login_endpoint(transport, "pod")
        with pytest.raises(AuthenticationError) as caught:
            await provider.login_endpoint(transport, "key_manager")
    assert pod.token
    refused = caught.value
    assert (refused.username, refused.status) == (BOT, 401)
    assert refused.endpoint == f"POST {emu.base_url}{KM_LOGIN}"
    assert refused.server_message == "fault injected by the emulator (401)"
    assert "answered 401: fault injected by the emulator (401). Check:" in str(refused)
    assert emu.counters.logins == {POD_LOGIN: 1}


async def test_only_the_previous_key_accepted_is_reported_with_the_current_keys_refusal(
    emu: Emulator, bot_keys: KeyPair, other_keys: KeyPair
) -> None:
    # The bot already has its new key (other_keys); the pod still knows only the old one.
    async with rsa_login(emu, other_keys, previous=bot_keys) as (provider, transport):
        pod = await provider.login_endpoint(transport, "pod")
        key_manager = await provider.login_endpoint(transport, "key_manager")
    for answer, path in ((pod, POD_LOGIN), (key_manager, KM_LOGIN)):
        assert answer.used_previous_key
        refusal = answer.current_key_refusal
        assert refusal is not None
        assert (refusal.status, refusal.server_message) == (401, BAD_SIGNATURE)
        assert refusal.endpoint == f"POST {emu.base_url}{path}"
    assert emu.counters.logins == {POD_LOGIN: 1, KM_LOGIN: 1}
    assert emu.counters.login_failures == {POD_LOGIN: 1, KM_LOGIN: 1}


async def test_the_current_key_accepted_needs_no_previous_key(
    emu: Emulator, bot_keys: KeyPair, other_keys: KeyPair
) -> None:
    async with rsa_login(emu, bot_keys, previous=other_keys) as (provider, transport):
        pod = await provider.login_endpoint(transport, "pod")
    assert not pod.used_previous_key
    assert pod.current_key_refusal is None
    assert emu.counters.login_failures == {}


async def test_both_keys_refused_by_one_endpoint_says_so_with_the_servers_words(
    emu: Emulator, other_keys: KeyPair
) -> None:
    async with rsa_login(emu, other_keys, previous=other_keys) as (provider, transport):
        with pytest.raises(AuthenticationError) as caught:
            await provider.login_endpoint(transport, "key_manager")
    refused = caught.value
    assert refused.hint.startswith("both the current and the previous key were refused; ")
    assert refused.server_message == BAD_SIGNATURE
    assert emu.counters.login_failures == {KM_LOGIN: 2}


async def test_a_refusal_carries_the_servers_message_and_no_secret(
    emu: Emulator, bot_keys: KeyPair, other_keys: KeyPair
) -> None:
    async with rsa_login(emu, bot_keys) as (accepted, transport):
        granted = await accepted.login_endpoint(transport, "pod")
    async with rsa_login(emu, other_keys) as (provider, transport):
        with pytest.raises(AuthenticationError) as caught:
            await provider.login_endpoint(transport, "pod")
    refused = caught.value
    assert refused.server_message == BAD_SIGNATURE
    texts = f"{refused}\n{refused!r}"
    assert BAD_SIGNATURE in texts
    secrets = [granted.token, *other_keys.private_key_pem.decode().splitlines()[1:-1]]
    assert [secret for secret in secrets if secret in texts] == []
    assert "eyJ" not in texts  # no JWT, the login JWT included
    assert "-----BEGIN" not in texts


@pytest.fixture
async def served(bot_keys: KeyPair) -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        emu.add_user(BOT, public_key_pem=bot_keys.public_key_pem)
        yield emu


async def test_certificate_logins_go_one_endpoint_at_a_time(
    served: Emulator, tmp_path: Path
) -> None:
    cert, key = served.issue_certificate(BOT).write_pem(tmp_path)
    provider = provider_for(CertificateAuth(certificate=cert, key=key))
    transport = served_transport(served, retry=FAST_RETRY)
    served.fault(KEY_AUTH, status=401)
    try:
        assert isinstance(provider, EndpointAuthProvider)
        assert provider.login_roles == ("session_auth", "key_manager")
        session = await provider.login_endpoint(transport, "session_auth")
        with pytest.raises(AuthenticationError) as caught:
            await provider.login_endpoint(transport, "key_manager")
    finally:
        await transport.aclose()
    assert session.endpoint == f"POST {served.https_url}{SESSION_AUTH}"
    assert not session.used_previous_key
    assert caught.value.endpoint == f"POST {served.https_url}{KEY_AUTH}"
    assert caught.value.server_message == "fault injected by the emulator (401)"
    assert served.counters.logins == {SESSION_AUTH: 1}


async def test_a_token_echoed_in_a_refusal_is_redacted(served: Emulator, tmp_path: Path) -> None:
    # The pod names the unknown CN in its refusal; this CN is shaped like a JWT.
    jwt_shaped = "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl"
    issued = served.issue_certificate(BOT, common_name=jwt_shaped)
    cert, key = (
        path.rename(tmp_path / f"stranger{path.suffix}") for path in issued.write_pem(tmp_path)
    )
    provider = provider_for(CertificateAuth(certificate=cert, key=key, username=BOT))
    transport = served_transport(served, retry=FAST_RETRY)
    try:
        with pytest.raises(AuthenticationError) as caught:
            await provider.login_endpoint(transport, "session_auth")
    finally:
        await transport.aclose()
    refused = caught.value
    assert refused.server_message == "certificate CN '***' is not a user of this pod"
    assert refused.server_message in str(refused)
    assert jwt_shaped not in f"{refused}\n{refused!r}"
