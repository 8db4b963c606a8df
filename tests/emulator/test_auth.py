"""Emulator logins in-process: the RSA JWT checks, key rotation, authorizationToken, and the
certificate endpoints' refusals.

Certificate login over real mutual TLS is in test_served.py; here the certificate endpoints
are driven through the ASGI `tls` extension directly, and without TLS (refused).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest

from symbot.emulator import Emulator
from symbot.emulator._asgi import Message
from symbot.emulator._auth_routes import CERTIFICATE_LOGIN_NOTICE

from .support import (
    ALICE,
    BOT,
    KM_CERT_LOGIN,
    KM_LOGIN,
    POD_LOGIN,
    SESSION_CERT_LOGIN,
    KeyPairs,
    SignJwt,
    assert_refused,
)

pytestmark = pytest.mark.anyio

LOGINS = pytest.mark.parametrize(
    ("path", "name"), [(POD_LOGIN, "sessionToken"), (KM_LOGIN, "keyManagerToken")]
)
CERT_LOGINS = pytest.mark.parametrize("path", [SESSION_CERT_LOGIN, KM_CERT_LOGIN])


# --- RSA (JWT) login ------------------------------------------------------------------------


@LOGINS
async def test_rsa_login_with_a_good_jwt_returns_an_opaque_token(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt, emu: Emulator, path: str, name: str
) -> None:
    response = await http.post(path, json={"token": sign_jwt(keys[0].private_key_pem)})

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == name
    assert isinstance(body["token"], str)
    assert len(body["token"]) >= 32
    assert "authorizationToken" not in body
    assert emu.counters.logins[path] == 1


@LOGINS
async def test_rsa_login_refuses_a_jwt_signed_by_another_key(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt, emu: Emulator, path: str, name: str
) -> None:
    response = await http.post(path, json={"token": sign_jwt(keys[2].private_key_pem)})

    assert_refused(response)
    assert emu.counters.logins[path] == 0
    assert emu.counters.login_failures[path] == 1
    assert emu.counters.unauthorized == 1


@LOGINS
async def test_rsa_login_refuses_a_jwt_signed_by_another_users_key(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt, path: str, name: str
) -> None:
    forged = sign_jwt(keys[1].private_key_pem, sub=BOT)  # alice's key claiming to be bot

    assert_refused(await http.post(path, json={"token": forged}))


async def test_rsa_login_refuses_a_tampered_payload(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    header, _, signature = sign_jwt(keys[1].private_key_pem, sub=ALICE).split(".")
    payload = jwt.utils.base64url_encode(
        json.dumps({"sub": BOT, "exp": int(time.time()) + 200}).encode()
    ).decode()

    response = await http.post(POD_LOGIN, json={"token": f"{header}.{payload}.{signature}"})

    assert_refused(response)


@LOGINS
async def test_rsa_login_refuses_an_expired_jwt(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt, path: str, name: str
) -> None:
    expired = sign_jwt(keys[0].private_key_pem, exp_in=-60)

    assert_refused(await http.post(path, json={"token": expired}))


@LOGINS
async def test_rsa_login_refuses_a_jwt_expiring_more_than_300_seconds_ahead(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt, path: str, name: str
) -> None:
    too_long = sign_jwt(keys[0].private_key_pem, exp_in=400)

    response = await http.post(path, json={"token": too_long})

    assert_refused(response)
    assert "300" in response.json()["message"]


async def test_rsa_login_accepts_a_jwt_just_under_the_300_second_limit(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    response = await http.post(
        POD_LOGIN, json={"token": sign_jwt(keys[0].private_key_pem, exp_in=295)}
    )

    assert response.status_code == 200


async def test_rsa_login_refuses_a_jwt_without_exp(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    no_exp = sign_jwt(keys[0].private_key_pem, omit=("exp",))

    assert_refused(await http.post(POD_LOGIN, json={"token": no_exp}))


@LOGINS
async def test_rsa_login_refuses_an_unknown_user(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt, path: str, name: str
) -> None:
    stranger = sign_jwt(keys[2].private_key_pem, sub="mallory")

    assert_refused(await http.post(path, json={"token": stranger}))


async def test_rsa_login_refuses_a_jwt_that_is_not_rs512(
    http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    rs256 = sign_jwt(keys[0].private_key_pem, alg="RS256")
    hmac = jwt.encode({"sub": BOT, "exp": int(time.time()) + 200}, "s" * 64, algorithm="HS512")
    unsigned = jwt.encode({"sub": BOT, "exp": int(time.time()) + 200}, "", algorithm="none")

    for token in (rs256, hmac, unsigned):
        assert_refused(await http.post(POD_LOGIN, json={"token": token}))


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"token": 42}', b'{"token": "not.a.jwt"}', b'{"jwt": "x"}'],
)
async def test_rsa_login_refuses_a_malformed_request_with_401(
    http: httpx.AsyncClient, body: bytes
) -> None:
    response = await http.post(
        POD_LOGIN, content=body, headers={"content-type": "application/json"}
    )

    assert_refused(response)


async def test_previous_key_authenticates_until_it_expires(
    keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    emu = Emulator()
    emu.add_user(
        "rotating",
        public_key_pem=keys[0].public_key_pem,
        previous_public_key_pem=keys[1].public_key_pem,
        previous_key_expires_at=time.time() + 3600,
    )
    emu.add_user(
        "rotated",
        public_key_pem=keys[0].public_key_pem,
        previous_public_key_pem=keys[1].public_key_pem,
        previous_key_expires_at=time.time() - 1,
    )
    async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as http:
        for user, key, expected in [
            ("rotating", keys[0], 200),
            ("rotating", keys[1], 200),  # previous key, still within its window
            ("rotated", keys[0], 200),
            ("rotated", keys[1], 401),  # previous key past its expiry
            ("rotated", keys[2], 401),
        ]:
            token = sign_jwt(key.private_key_pem, sub=user)
            response = await http.post(POD_LOGIN, json={"token": token})
            assert response.status_code == expected, (user, response.text)


async def test_rotate_key_keeps_the_old_key_valid_for_the_given_window(
    emu: Emulator, http: httpx.AsyncClient, keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    rotated = emu.rotate_key(BOT, previous_key_lifetime=3600)
    assert rotated.private_key_pem is not None

    for private_key in (rotated.private_key_pem, keys[0].private_key_pem):
        response = await http.post(POD_LOGIN, json={"token": sign_jwt(private_key)})
        assert response.status_code == 200

    emu.rotate_key(BOT, public_key_pem=keys[2].public_key_pem, previous_key_lifetime=-1)
    for private_key, expected in [
        (keys[2].private_key_pem, 200),
        (rotated.private_key_pem, 401),  # the previous key, already expired
        (keys[0].private_key_pem, 401),  # two rotations ago
    ]:
        response = await http.post(POD_LOGIN, json={"token": sign_jwt(private_key)})
        assert response.status_code == expected


async def test_authorization_token_is_a_jwt_with_the_configured_lifetime(
    keys: KeyPairs, sign_jwt: SignJwt
) -> None:
    emu = Emulator(authorization_token_lifetime=600)
    emu.add_user(BOT, public_key_pem=keys[0].public_key_pem)
    async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as http:
        before = time.time()
        body = (
            await http.post(POD_LOGIN, json={"token": sign_jwt(keys[0].private_key_pem)})
        ).json()

    claims = jwt.decode(
        body["authorizationToken"],
        emu.tokens.authorization_public_key_pem,
        algorithms=["ES256"],
    )
    assert claims["sub"] == BOT
    assert before + 600 - 2 <= claims["exp"] <= time.time() + 600


async def test_generated_user_key_logs_in(sign_jwt: SignJwt) -> None:
    emu = Emulator()
    user = emu.add_user("fresh")
    assert user.private_key_pem is not None
    assert "private_key" not in repr(user)

    async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as http:
        token = sign_jwt(user.private_key_pem, sub="fresh")
        response = await http.post(KM_LOGIN, json={"token": token})

    assert response.status_code == 200


# --- certificate login without TLS, and through the ASGI tls extension ------------------


@CERT_LOGINS
async def test_certificate_login_without_tls_is_refused(http: httpx.AsyncClient, path: str) -> None:
    assert_refused(await http.post(path))


@CERT_LOGINS
async def test_certificate_login_answers_500_to_a_body_without_content_type_as_symphony_does(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.post(path, content=b"{}")

    assert_refused(response, status=500)
    assert "no request body since March 2025" in response.json()["message"]
    assert CERTIFICATE_LOGIN_NOTICE in response.json()["message"]


@CERT_LOGINS
async def test_certificate_login_answers_401_to_a_content_type_in_strict_mode_as_symphony_does(
    http: httpx.AsyncClient, path: str
) -> None:
    bare = await http.post(path, headers={"content-type": "application/json"})
    with_body = await http.post(path, json={})

    for response in (bare, with_body):
        assert_refused(response, status=401)
        message = response.json()["message"]
        assert "no Content-Type header since March 2025" in message
        assert CERTIFICATE_LOGIN_NOTICE in message
        assert "--lenient-content-type" in message


async def test_certificate_login_accepts_a_bare_content_type_when_not_strict() -> None:
    emu = Emulator(strict_content_type=False)
    emu.add_user(BOT)
    good = emu.issue_certificate(BOT)
    headers = [(b"content-type", b"application/json")]

    status, _ = await call_app(emu, SESSION_CERT_LOGIN, [good.cert_pem], headers)
    assert status == 200
    status, _ = await call_app(emu, SESSION_CERT_LOGIN, [good.cert_pem], headers, b"{}")
    assert status == 500  # a body is refused even when a Content-Type is tolerated


@CERT_LOGINS
async def test_certificate_from_the_emulator_ca_logs_in_through_the_tls_extension(
    emu: Emulator, path: str
) -> None:
    status, body = await call_app(emu, path, [emu.issue_certificate(BOT).cert_pem])

    assert status == 200
    assert body["name"] == ("sessionToken" if path == SESSION_CERT_LOGIN else "keyManagerToken")
    assert emu.counters.logins[path] == 1


async def test_certificate_from_a_same_named_foreign_ca_is_refused(emu: Emulator) -> None:
    foreign = emu.foreign_certificate(BOT)

    status, body = await call_app(emu, SESSION_CERT_LOGIN, [foreign.cert_pem])

    assert status == 401
    assert "signature" in body["message"]


async def test_certificate_with_an_unknown_cn_is_refused(emu: Emulator) -> None:
    ghost = emu.issue_certificate(BOT, common_name="ghost")

    status, body = await call_app(emu, KM_CERT_LOGIN, [ghost.cert_pem])

    assert status == 401
    assert "ghost" in body["message"]


async def test_server_certificate_cannot_be_used_to_log_in(emu: Emulator) -> None:
    server_cert = emu.ca.issue_server(["bot"])  # CN "bot", but for server authentication

    status, _ = await call_app(emu, SESSION_CERT_LOGIN, [server_cert.cert_pem])

    assert status == 401


async def call_app(
    emu: Emulator,
    path: str,
    client_cert_chain: list[bytes],
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> tuple[int, Any]:
    """POST to the emulator's ASGI app with a TLS extension holding `client_cert_chain`,
    as the loopback server builds it after a mutual TLS handshake."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [],
        "server": ("127.0.0.1", 8443),
        "client": ("127.0.0.1", 50000),
        "extensions": {
            "tls": {
                "server_cert": None,
                "client_cert_chain": [pem.decode() for pem in client_cert_chain],
                "tls_version": 0x0304,
                "cipher_suite": None,
                "client_cert_name": None,
                "client_cert_error": None,
            }
        },
    }
    sent: list[Message] = []
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if requested:
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await emu.app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"])
