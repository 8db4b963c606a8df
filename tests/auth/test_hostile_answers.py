"""Answers from a broken or hostile server to the calls of this issue (the pod certificate,
access tokens, extension-app authentication): each is refused as an `ApiError` naming the
endpoint, never a crash. A stand-in server answers over httpx's mock transport; the code
under test is symbot's own, unmocked."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from symbot.apps import App
from symbot.auth import KeyPair
from symbot.config import AppAuth, BotConfig, RetryPolicy
from symbot.errors import ApiError

pytestmark = pytest.mark.anyio

Answer = Callable[[httpx.Request], httpx.Response]
DEEP = b"[" * 100_000 + b"]" * 100_000


def app_against(answer: Answer, keys: KeyPair) -> App:
    config = BotConfig(
        pod_url="https://pod.example",
        app=AppAuth(app_id="my-app", private_key=keys.private_key_pem),
        retry=RetryPolicy(initial=0.01, maximum=0.01, max_attempts=1),
    )
    return App(config, transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"null",
        b'{"certificate": 42}',
        b'{"certificate": "-----BEGIN nonsense"}',
        DEEP,
        b'{"certificate": "' + b"A" * 100_000 + b'"}',
    ],
    ids=["text", "null", "number", "not a certificate", "deep", "huge"],
)
async def test_a_pod_certificate_answer_that_is_not_one_is_an_api_error(
    bot_keys: KeyPair, body: bytes
) -> None:
    async with app_against(lambda request: httpx.Response(200, content=body), bot_keys) as app:
        with pytest.raises(ApiError, match="/pod/v1/podcert answered 200"):
            await app.pod_certificate()


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"access_token": ""}', b"[1]", DEEP],
    ids=["empty", "empty token", "list", "deep"],
)
async def test_an_access_token_answer_without_a_token_is_an_api_error(
    bot_keys: KeyPair, body: bytes
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/app/authenticate"):
            return httpx.Response(200, json={"name": "sessionToken", "token": "app-session"})
        return httpx.Response(200, content=body)

    async with app_against(answer, bot_keys) as app:
        with pytest.raises(ApiError, match="without an access_token"):
            await app.session.access_token()


@pytest.mark.parametrize(
    "body",
    [
        {"appId": "my-app", "appToken": "other", "symphonyToken": "s", "expireAt": 1},
        {"appId": "my-app", "appToken": "mine", "symphonyToken": "", "expireAt": 1},
        {"appId": "my-app", "appToken": "mine", "symphonyToken": "s", "expireAt": "soon"},
        {"appId": "my-app", "appToken": "mine", "symphonyToken": "s", "expireAt": True},
    ],
    ids=["another app token", "no symphony token", "expireAt a string", "expireAt a boolean"],
)
async def test_an_extension_app_answer_that_does_not_pair_the_token_is_an_api_error(
    bot_keys: KeyPair, body: dict[str, object]
) -> None:
    async with app_against(lambda request: httpx.Response(200, json=body), bot_keys) as app:
        with pytest.raises(ApiError, match="lacks the symphonyToken"):
            await app.authenticate_extension_app(app_token="mine")
        assert not await app.validate_tokens("mine", "s")
