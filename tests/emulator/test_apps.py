"""Emulator app endpoints in-process: app sessions, on-behalf-of logins and where their tokens
are accepted, extension-app authentication, the pod certificate, access tokens, the clock
offset and the login JWT's strictness."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509

from symbot.emulator import EmulatedApp, Emulator

from .support import ALICE, BOT, POD_LOGIN, KeyPairs, RsaLogin, SignJwt, assert_refused

pytestmark = pytest.mark.anyio

APP = "compliance-app"
APP_LOGIN = "/login/pubkey/app/authenticate"
EXTENSION_APP_LOGIN = "/login/v1/pubkey/app/authenticate/extensionApp"
MESSAGE_CREATE = "/agent/v4/stream/{}/message/create"


@pytest.fixture
def app(emu: Emulator, keys: KeyPairs) -> EmulatedApp:
    """`compliance-app`, whose key is keys[2] (registered for no user)."""
    return emu.add_app(APP, public_key_pem=keys[2].public_key_pem)


def obo_path(username: str) -> str:
    return f"/login/pubkey/app/username/{username}/authenticate"


async def app_session(http: httpx.AsyncClient, sign_jwt: SignJwt, keys: KeyPairs) -> str:
    response = await http.post(
        APP_LOGIN, json={"token": sign_jwt(keys[2].private_key_pem, sub=APP)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "sessionToken"
    token: str = response.json()["token"]
    return token


async def test_an_app_logs_in_with_a_jwt_signed_by_its_registered_key(
    http: httpx.AsyncClient, app: EmulatedApp, sign_jwt: SignJwt, keys: KeyPairs, emu: Emulator
) -> None:
    assert await app_session(http, sign_jwt, keys)
    assert emu.counters.logins[APP_LOGIN] == 1


@pytest.mark.parametrize(
    ("key_index", "sub", "exp_in"),
    [(2, "unknown-app", 240.0), (0, APP, 240.0), (2, APP, -60.0), (2, BOT, 240.0)],
    ids=["unknown app", "foreign key", "expired jwt", "a user is not an app"],
)
async def test_app_login_refusals(
    http: httpx.AsyncClient,
    app: EmulatedApp,
    sign_jwt: SignJwt,
    keys: KeyPairs,
    key_index: int,
    sub: str,
    exp_in: float,
) -> None:
    token = sign_jwt(keys[key_index].private_key_pem, sub=sub, exp_in=exp_in)
    assert_refused(await http.post(APP_LOGIN, json={"token": token}))


async def test_an_obo_session_acts_as_the_user_on_the_pod_and_sends_without_a_km_token(
    http: httpx.AsyncClient, app: EmulatedApp, sign_jwt: SignJwt, keys: KeyPairs, emu: Emulator
) -> None:
    app_token = await app_session(http, sign_jwt, keys)
    by_name = await http.post(obo_path(ALICE), headers={"sessionToken": app_token})
    by_id = await http.post(
        f"/login/pubkey/app/user/{emu.user(ALICE).user_id}/authenticate",
        headers={"sessionToken": app_token},
    )
    im = emu.create_im(ALICE, BOT)
    for answer in (by_name, by_id):
        assert answer.status_code == 200, answer.text
        headers = {"sessionToken": answer.json()["token"]}
        info = await http.get("/pod/v2/sessioninfo", headers=headers)
        assert info.json()["username"] == ALICE
        sent = await http.post(
            MESSAGE_CREATE.format(im),
            headers=headers,
            files={"message": (None, "<messageML>hi</messageML>")},
        )
        assert sent.status_code == 200, sent.text
        # the datafeed is not among the calls the spec allows an OBO token alone
        assert_refused(await http.get("/agent/v5/datafeeds", headers=headers))
    assert [m.sender for m in emu.sent_messages()] == [ALICE, ALICE]


async def test_obo_refusals_name_the_cause(
    http: httpx.AsyncClient, app: EmulatedApp, sign_jwt: SignJwt, keys: KeyPairs, emu: Emulator
) -> None:
    app_token = await app_session(http, sign_jwt, keys)
    emu.set_app_entitlement(APP, ALICE, entitled=False)
    headers = {"sessionToken": app_token}

    not_entitled = await http.post(obo_path(ALICE), headers=headers)
    unknown = await http.post(obo_path("nobody"), headers=headers)
    bad_id = await http.post("/login/pubkey/app/user/12/authenticate", headers=headers)
    no_app = await http.post(obo_path(BOT), headers={"sessionToken": "made-up"})

    assert_refused(not_entitled, 403)
    assert "not entitled" in not_entitled.json()["message"]
    assert_refused(unknown)
    assert_refused(bad_id)
    assert_refused(no_app)
    assert (await http.post(obo_path(BOT), headers=headers)).status_code == 200


async def test_a_user_session_is_not_an_app_session(
    http: httpx.AsyncClient, app: EmulatedApp, rsa_login: RsaLogin, keys: KeyPairs
) -> None:
    user_headers = await rsa_login(http, BOT, keys[0].private_key_pem)
    assert_refused(await http.post(obo_path(ALICE), headers=user_headers))


async def test_expiring_an_app_ends_its_session_and_the_users_obo_sessions_expire_with_theirs(
    http: httpx.AsyncClient, app: EmulatedApp, sign_jwt: SignJwt, keys: KeyPairs, emu: Emulator
) -> None:
    app_token = await app_session(http, sign_jwt, keys)
    obo = await http.post(obo_path(ALICE), headers={"sessionToken": app_token})
    emu.expire_tokens(APP)
    assert_refused(await http.post(obo_path(ALICE), headers={"sessionToken": app_token}))
    headers = {"sessionToken": obo.json()["token"]}
    assert (await http.get("/pod/v2/sessioninfo", headers=headers)).status_code == 200
    emu.expire_tokens(ALICE)
    assert_refused(await http.get("/pod/v2/sessioninfo", headers=headers))


async def test_extension_app_authentication_pairs_the_app_token_with_a_symphony_token(
    http: httpx.AsyncClient, app: EmulatedApp, sign_jwt: SignJwt, keys: KeyPairs, emu: Emulator
) -> None:
    before = emu.clock()
    body = {"appToken": "app-generated", "authToken": sign_jwt(keys[2].private_key_pem, sub=APP)}
    response = await http.post(EXTENSION_APP_LOGIN, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["appId"] == APP
    assert answer["appToken"] == "app-generated"
    assert answer["symphonyToken"] == emu.symphony_token(APP, "app-generated")
    assert before + 3600 - 2 <= answer["expireAt"] / 1000 <= emu.clock() + 3600  # milliseconds


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"authToken": "x"}, 400),
        ({"appToken": "", "authToken": "x"}, 400),
        ({"appToken": "a" * 5000, "authToken": "x"}, 400),
        ({"appToken": "ok", "authToken": "not-a-jwt"}, 401),
        ({"appToken": "ok"}, 401),
    ],
    ids=["no app token", "empty app token", "huge app token", "malformed jwt", "no jwt"],
)
async def test_extension_app_authentication_refusals(
    http: httpx.AsyncClient, app: EmulatedApp, body: dict[str, Any], status: int
) -> None:
    assert_refused(await http.post(EXTENSION_APP_LOGIN, json=body), status)


async def test_the_pod_certificate_is_public_and_verifies_the_user_jwts_of_extensions(
    http: httpx.AsyncClient, app: EmulatedApp, emu: Emulator
) -> None:
    response = await http.get("/pod/v1/podcert")
    assert response.status_code == 200
    certificate = x509.load_pem_x509_certificate(response.json()["certificate"].encode())
    token = emu.extension_user_jwt(ALICE, APP)
    claims = jwt.decode(token, certificate.public_key(), algorithms=["RS512"], audience=APP)  # type: ignore[arg-type]
    assert claims["user"]["username"] == ALICE
    assert claims["user"]["id"] == emu.user(ALICE).user_id
    assert claims["sub"] == str(emu.user(ALICE).user_id)


async def test_access_tokens_need_a_user_session_and_verify_with_the_published_keys(
    http: httpx.AsyncClient, rsa_login: RsaLogin, keys: KeyPairs, emu: Emulator
) -> None:
    assert_refused(await http.post("/login/idm/tokens"))
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)
    response = await http.post(
        "/login/idm/tokens",
        params={"scope": "dlm:manage"},
        headers={"sessionToken": headers["sessionToken"]},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 300
    jwks = (await http.get("/login/idm/keys")).json()
    key = jwt.PyJWK.from_dict(jwks["keys"][0])
    claims = jwt.decode(answer["access_token"], key, algorithms=["ES256"])
    assert claims["sub"] == BOT
    assert claims["scope"] == "dlm:manage"
    assert claims["exp"] - claims["iat"] == 300
    assert emu.counters.access_tokens == 1
    bad_scope = await http.post(
        "/login/idm/tokens",
        params={"scope": "a\nb"},
        headers={"sessionToken": headers["sessionToken"]},
    )
    assert_refused(bad_scope, 400)


async def test_every_answer_carries_the_servers_date_on_its_clock(http: httpx.AsyncClient) -> None:
    emu_behind = Emulator(clock_offset=-600)
    async with httpx.AsyncClient(
        transport=emu_behind.transport(), base_url=emu_behind.base_url
    ) as client:
        behind = await client.get("/agent/v3/health")
    on_time = await http.get("/no/such/endpoint")
    assert abs(parsedate_to_datetime(on_time.headers["date"]).timestamp() - time.time()) < 5
    offset = parsedate_to_datetime(behind.headers["date"]).timestamp() - time.time()
    assert -605 < offset < -595


async def test_a_login_jwt_valid_by_our_clock_is_refused_by_a_server_ten_minutes_off(
    keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    for offset, reason in [(-600, "ahead of the server's clock"), (600, "expired")]:
        emu = Emulator(clock_offset=offset)
        emu.add_user(BOT, public_key_pem=keys[0].public_key_pem)
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as client:
            refused = await client.post(
                POD_LOGIN, json={"token": sign_jwt(keys[0].private_key_pem)}
            )
            on_server_time = int(emu.clock() + 200)
            token = jwt.encode(
                {"sub": BOT, "exp": on_server_time}, keys[0].private_key_pem, algorithm="RS512"
            )
            accepted = await client.post(POD_LOGIN, json={"token": token})
        assert_refused(refused)
        assert reason in refused.json()["message"]
        assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize(
    "exp",
    [str(int(time.time()) + 200), str(int(time.time()) + 10 * 365 * 86400), True, None, [1]],
    ids=["numeric string", "string ten years ahead", "boolean", "null", "list"],
)
async def test_a_login_jwt_whose_exp_is_not_a_numeric_date_is_refused(
    http: httpx.AsyncClient, keys: KeyPairs, exp: object
) -> None:
    token = jwt.encode({"sub": BOT, "exp": exp}, keys[0].private_key_pem, algorithm="RS512")
    response = await http.post(POD_LOGIN, json={"token": token})
    assert_refused(response)
    assert "exp" in response.json()["message"]
