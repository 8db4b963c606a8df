"""Emulator tokens and controls in-process: which endpoints need which tokens, expiry,
revocation, lifetimes, routing, counters, and the send control."""

from __future__ import annotations

import httpx
import pytest

from symbot.emulator import Emulator
from symbot.emulator._tokens import TokenKind

from .support import ALICE, BOT, KM_LOGIN, POD_LOGIN, KeyPairs, RsaLogin, SignJwt, assert_refused

pytestmark = pytest.mark.anyio


async def test_session_info_describes_the_token_owner(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin, emu: Emulator
) -> None:
    headers = await rsa_login(http, ALICE, keys[1].private_key_pem)

    response = await http.get("/pod/v2/sessioninfo", headers=headers)

    assert response.status_code == 200
    info = response.json()
    assert info["id"] == emu.user(ALICE).user_id
    assert info["username"] == ALICE
    assert info["displayName"] == "Alice Liddell"
    assert info["emailAddress"] == emu.user(ALICE).email


@pytest.mark.parametrize(
    "headers",
    [{}, {"sessionToken": "made-up"}, {"sessionToken": ""}],
    ids=["missing", "unknown", "empty"],
)
async def test_pod_endpoint_refuses_a_missing_or_unknown_session_token(
    http: httpx.AsyncClient, emu: Emulator, headers: dict[str, str]
) -> None:
    assert_refused(await http.get("/pod/v2/sessioninfo", headers=headers))
    assert emu.counters.unauthorized == 1


async def test_pod_endpoint_refuses_a_key_manager_token_as_session_token(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)

    response = await http.get(
        "/pod/v2/sessioninfo", headers={"sessionToken": headers["keyManagerToken"]}
    )

    assert_refused(response)


async def test_agent_endpoint_needs_both_tokens(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)

    assert (await http.get("/agent/v5/datafeeds", headers=headers)).status_code == 200
    for name in headers:
        partial = {k: v for k, v in headers.items() if k != name}
        assert_refused(await http.get("/agent/v5/datafeeds", headers=partial))


async def test_agent_endpoint_refuses_tokens_of_two_different_users(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    bot = await rsa_login(http, BOT, keys[0].private_key_pem)
    alice = await rsa_login(http, ALICE, keys[1].private_key_pem)

    mixed = {"sessionToken": bot["sessionToken"], "keyManagerToken": alice["keyManagerToken"]}
    assert_refused(await http.get("/agent/v5/datafeeds", headers=mixed))


async def test_agent_health_needs_no_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/agent/v3/health")

    assert response.status_code == 200
    assert response.json()["status"] == "UP"


async def test_expired_tokens_give_401_and_a_new_login_works(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin, emu: Emulator
) -> None:
    bot = await rsa_login(http, BOT, keys[0].private_key_pem)
    alice = await rsa_login(http, ALICE, keys[1].private_key_pem)

    emu.expire_tokens(BOT)

    assert_refused(await http.get("/pod/v2/sessioninfo", headers=bot))
    assert_refused(await http.get("/agent/v5/datafeeds", headers=bot))
    assert (await http.get("/agent/v5/datafeeds", headers=alice)).status_code == 200
    fresh = await rsa_login(http, BOT, keys[0].private_key_pem)
    assert fresh != bot
    assert (await http.get("/agent/v5/datafeeds", headers=fresh)).status_code == 200


async def test_revoked_tokens_give_401_and_a_new_login_works(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin, emu: Emulator
) -> None:
    bot = await rsa_login(http, BOT, keys[0].private_key_pem)

    emu.revoke_tokens(BOT)

    assert_refused(await http.get("/agent/v5/datafeeds", headers=bot))
    fresh = await rsa_login(http, BOT, keys[0].private_key_pem)
    assert (await http.get("/pod/v2/sessioninfo", headers=fresh)).status_code == 200


async def test_expiring_only_the_key_manager_token_breaks_agent_calls_not_pod_calls(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin, emu: Emulator
) -> None:
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)

    emu.expire_tokens(BOT, session=False)

    assert (await http.get("/pod/v2/sessioninfo", headers=headers)).status_code == 200
    assert_refused(await http.get("/agent/v5/datafeeds", headers=headers))


async def test_revoking_only_the_session_token_breaks_pod_and_agent_calls(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin, emu: Emulator
) -> None:
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)

    emu.revoke_tokens(BOT, key_manager=False)

    assert_refused(await http.get("/pod/v2/sessioninfo", headers=headers))
    assert_refused(await http.get("/agent/v5/datafeeds", headers=headers))


async def test_many_logins_keep_live_tokens_valid(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt, emu: Emulator
) -> None:
    first = await http.post(POD_LOGIN, json={"token": sign_jwt(keys[0].private_key_pem)})
    emu.tokens.session_lifetime = 0.0  # later tokens are born expired: pruning fodder
    for _ in range(1100):
        emu.tokens.issue(BOT, TokenKind.SESSION)

    headers = {"sessionToken": first.json()["token"]}
    assert (await http.get("/pod/v2/sessioninfo", headers=headers)).status_code == 200


async def test_tokens_past_their_configured_lifetime_give_401(
    keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    emu = Emulator(session_token_lifetime=0.0, km_token_lifetime=3600)
    emu.add_user(BOT, public_key_pem=keys[0].public_key_pem)
    async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as http:
        headers = await rsa_login(http, BOT, keys[0].private_key_pem)

        assert_refused(await http.get("/pod/v2/sessioninfo", headers=headers))
        assert_refused(await http.get("/agent/v5/datafeeds", headers=headers))


async def test_unknown_path_is_404_and_wrong_method_is_405(http: httpx.AsyncClient) -> None:
    assert (await http.get("/pod/v9/nothing")).status_code == 404
    assert (await http.get(POD_LOGIN)).status_code == 405
    assert (await http.delete("/agent/v3/health")).status_code == 405


async def test_counters_count_requests_logins_and_401s(
    http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin, emu: Emulator
) -> None:
    await rsa_login(http, BOT, keys[0].private_key_pem)
    await rsa_login(http, BOT, keys[0].private_key_pem)
    await http.get("/pod/v2/sessioninfo")

    assert emu.counters.logins == {POD_LOGIN: 2, KM_LOGIN: 2}
    assert emu.counters.unauthorized == 1
    assert emu.counters.requests == 5


async def test_send_escapes_typed_text_and_passes_message_ml_only_when_asked(
    emu: Emulator,
) -> None:
    im = emu.create_im(BOT, ALICE)

    typed = emu.send(ALICE, im, "<messageML><b>bold?</b></messageML>")
    markup = emu.send(ALICE, im, "<messageML><b>bold</b></messageML>", message_ml=True)

    assert "<b>" not in typed["message"]
    assert "&lt;b&gt;" in typed["message"]
    assert "<b>bold</b>" in markup["message"]
    assert [sent.text for sent in emu.sent_messages()] == [
        "<messageML><b>bold?</b></messageML>",
        "bold",
    ]
