"""An extension app's circle of trust, backend side, end to end over HTTPS against the served
emulator: the app authenticates with an app token, validates the (app token, Symphony
token) pair its frontend presents, and verifies its users' JWTs with the pod certificate;
expired, foreign-signed, misaddressed and malformed JWTs are refused with a clear error."""

from __future__ import annotations

import time

import anyio
import jwt
import pytest
from attrs import evolve

from symbot.apps import App, InMemoryTokenPairStore
from symbot.auth import ExtensionAppTokens, KeyPair
from symbot.emulator import Emulator
from symbot.errors import AuthenticationError, InvalidJwtError

from .conftest import APP_ID, MakeApp, app_config

pytestmark = pytest.mark.anyio

PODCERT = "/pod/v1/podcert"


async def test_the_pair_the_pod_paired_is_valid_and_nothing_else_is(
    served: Emulator, make_app: MakeApp
) -> None:
    async with make_app() as app:
        mine = await app.authenticate_extension_app()
        given = await app.authenticate_extension_app(app_token="chosen-by-the-caller")
        symphony_token = served.symphony_token(APP_ID, mine.app_token)  # what the client hands over
        assert mine.symphony_token == symphony_token
        assert await app.validate_tokens(mine.app_token, symphony_token)
        assert given.app_token == "chosen-by-the-caller"
        assert await app.validate_tokens("chosen-by-the-caller", given.symphony_token)
        assert not await app.validate_tokens(mine.app_token, given.symphony_token)
        assert not await app.validate_tokens("unknown", symphony_token)
        for app_token, token in [(None, symphony_token), (mine.app_token, 42), ("", ""),
                                 (mine.app_token, "x" * 100_000)]:  # fmt: skip
            assert not await app.validate_tokens(app_token, token)
    assert mine.app_id == APP_ID
    assert time.time() + 3000 < mine.expires_at < time.time() + 3700  # expireAt was in ms
    assert symphony_token not in repr(mine)
    assert mine.app_token not in repr(mine)


async def test_a_pair_expires_with_the_symphony_token(app_keys: KeyPair) -> None:
    async with Emulator(session_token_lifetime=1.0) as emu:
        emu.add_app(APP_ID, public_key_pem=app_keys.public_key_pem)
        store = InMemoryTokenPairStore()
        async with App(app_config(emu, app_keys), token_store=store) as app:
            pair = await app.authenticate_extension_app()
            assert await app.validate_tokens(pair.app_token, pair.symphony_token)
            await anyio.sleep(1.2)
            assert not await app.validate_tokens(pair.app_token, pair.symphony_token)
        assert len(store) == 0  # the expired pair was dropped


async def test_the_in_memory_store_is_bounded() -> None:
    store = InMemoryTokenPairStore(max_entries=3)
    for number in range(5):
        pair = ExtensionAppTokens(
            app_id=APP_ID, app_token=f"a{number}", symphony_token="s", expires_at=time.time() + 60
        )
        await store.save(pair)
    assert len(store) == 3
    assert await store.get("a0") is None
    assert await store.get("a4") is not None


async def test_an_unknown_app_is_refused_at_authentication(make_app: MakeApp) -> None:
    stranger = make_app(config=lambda c: evolve(c, app=evolve(c.app, app_id="not-registered")))
    async with stranger:
        with pytest.raises(AuthenticationError, match="invalid app"):
            await stranger.authenticate_extension_app()


async def test_a_users_jwt_is_verified_with_the_pod_certificate_fetched_once(
    served: Emulator, make_app: MakeApp
) -> None:
    async with make_app() as app:
        for name in ("alice", "bob", "alice"):
            user = await app.validate_jwt(served.extension_user_jwt(name, APP_ID))
            assert user.username == name
            assert user.user_id == served.user(name).user_id
            assert user.email == served.user(name).email
        certificate = await app.pod_certificate()
    assert certificate.startswith("-----BEGIN CERTIFICATE-----")
    assert len(served.received_requests(PODCERT)) == 1


async def test_expired_foreign_misaddressed_and_malformed_jwts_are_refused(
    served: Emulator, make_app: MakeApp, app_keys: KeyPair
) -> None:
    good = served.extension_user_jwt("alice", APP_ID)
    claims = jwt.decode(good, options={"verify_signature": False})
    foreign = jwt.encode(claims, app_keys.private_key_pem, algorithm="RS512")
    served.add_app("other-app")
    cases = {
        "expired": served.extension_user_jwt("alice", APP_ID, lifetime=-60),
        "not signed by the pod's certificate": foreign,
        "issued for another app": served.extension_user_jwt("alice", "other-app"),
        "malformed": "not.a.jwt",
        "signed with 'HS256'": jwt.encode(claims, "s" * 32, algorithm="HS256"),
        "has no 'user' claim": served.pod_signer.sign({**claims, "user": "alice"}),
        "longer than": good + "A" * 20_000,
    }
    async with make_app() as app:
        for reason, token in cases.items():
            with pytest.raises(InvalidJwtError, match=reason) as refused:
                await app.validate_jwt(token)
            assert token not in str(refused.value)
        with pytest.raises(InvalidJwtError, match="malformed"):
            await app.validate_jwt(None)
    # a foreign signature makes the certificate be fetched again, but not more than once a minute
    assert len(served.received_requests(PODCERT)) == 1


async def test_a_jwt_is_judged_on_the_pods_clock(app_keys: KeyPair) -> None:
    """The pod ten minutes behind: a JWT it just issued already looks expired by our clock,
    and is accepted; the certificate's answer told symbot the pod's time."""
    async with Emulator(clock_offset=-600) as emu:
        emu.add_app(APP_ID, public_key_pem=app_keys.public_key_pem)
        emu.add_user("alice")
        token = emu.extension_user_jwt("alice", APP_ID, lifetime=300)
        async with App(app_config(emu, app_keys)) as app:
            assert (await app.validate_jwt(token)).username == "alice"
            pair = await app.authenticate_extension_app()  # the app JWT, on the pod's clock
        assert pair.expires_at > time.time() + 3000  # expireAt brought to our clock
