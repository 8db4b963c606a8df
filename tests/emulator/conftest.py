"""Fixtures for the emulator's tests: an emulator with two users, clients and login helpers.

RSA key pairs are generated once per session and registered with each fresh emulator, so a
test pays for an Emulator (a few ECDSA keys) but not for RSA key generation.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from symbot.emulator import Emulator
from symbot.emulator._keys import generate_rsa_key_pair

from .support import ALICE, BOT, KM_LOGIN, POD_LOGIN, KeyPairs, Pod, RsaLogin, SignJwt


@pytest.fixture(scope="session")
def keys() -> KeyPairs:
    """Three RSA key pairs: bot's, alice's, and one nobody registered."""
    return generate_rsa_key_pair(), generate_rsa_key_pair(), generate_rsa_key_pair()


@pytest.fixture
def emu(keys: KeyPairs) -> Emulator:
    """An in-process emulator with users `bot` (keys[0]) and `alice` (keys[1])."""
    emulator = Emulator()
    emulator.add_user(BOT, display_name="Echo Bot", public_key_pem=keys[0].public_key_pem)
    emulator.add_user(ALICE, display_name="Alice Liddell", public_key_pem=keys[1].public_key_pem)
    return emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client talking to `emu` in-process."""
    async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as client:
        yield client


@pytest.fixture
def sign_jwt() -> SignJwt:
    """`sign_jwt(private_key_pem, sub=..., exp_in=240, alg="RS512", omit=(), **claims)`: a
    login JWT; `exp_in` is seconds from now (negative: already expired)."""

    def sign(
        private_key_pem: bytes,
        *,
        sub: str = BOT,
        exp_in: float = 240.0,
        alg: str = "RS512",
        omit: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        payload: dict[str, Any] = {"sub": sub, "exp": int(time.time() + exp_in), **claims}
        for name in omit:
            payload.pop(name, None)
        return jwt.encode(payload, private_key_pem, algorithm=alg)

    return sign


@pytest.fixture
def rsa_login(sign_jwt: SignJwt) -> RsaLogin:
    """`await rsa_login(client, username, private_key_pem)`: log in on the pod and the KM
    and return the headers an agent call needs (sessionToken, keyManagerToken)."""

    async def login(
        client: httpx.AsyncClient, username: str, private_key_pem: bytes
    ) -> dict[str, str]:
        headers: dict[str, str] = {}
        for path in (POD_LOGIN, KM_LOGIN):
            response = await client.post(
                path, json={"token": sign_jwt(private_key_pem, sub=username)}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            headers[body["name"]] = body["token"]
        return headers

    return login


@pytest.fixture
async def pod(emu: Emulator, http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin) -> Pod:
    """`emu` with bot and alice logged in over `http` (their headers in `pod.headers`), bob
    and carol added, and a datafeed each for bot, alice and bob."""
    pod = Pod(emu, http, keys)
    pod.headers[BOT] = await rsa_login(http, BOT, keys[0].private_key_pem)
    pod.headers[ALICE] = await rsa_login(http, ALICE, keys[1].private_key_pem)
    return pod
