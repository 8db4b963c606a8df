"""Applications: the app's own session, its users' on-behalf-of (OBO) sessions, and the
extension-app (circle of trust) authentication. RSA only: Symphony deprecated the
certificate variants under `/sessionauth/v1/app/...`.

- `AppLogin` is the `AuthProvider` of an app session: a JWT whose `sub` is the app id,
  signed by the app's registered key, posted to `/login/pubkey/app/authenticate`. Its
  `extension_app_login` posts `{appToken, authToken}` to
  `/login/v1/pubkey/app/authenticate/extensionApp` and returns `ExtensionAppTokens`.
- `OboLogin` is the `AuthProvider` of one user's OBO session: the app's session token posted
  to `/login/pubkey/app/user/{userId}/authenticate` or `.../username/{name}/authenticate`. A
  401 there may mean the app session died: the app session is refreshed once
  (single-flight) and the login tried again; a second 401 or a 403 is a refusal (the user
  has not installed the app, or the app lacks the on-behalf-of permission).

Both are kept by `AuthSession`, the machinery the bot's own tokens use.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
from attrs import field, frozen

from symbot.auth._access import TokenSource
from symbot.auth._clock import ServerClock
from symbot.auth._jwt import LoginJwt, post_login_jwt
from symbot.auth._keys import load_private_key
from symbot.auth._provider import EndpointLogin, LoginRole, Tokens, check_login_response
from symbot.config import AppAuth, describe_source
from symbot.errors import ApiError
from symbot.transport import Transport

__all__ = ["AppLogin", "ExtensionAppTokens", "OboLogin"]

APP_LOGIN_PATH = "/login/pubkey/app/authenticate"
EXTENSION_APP_PATH = "/login/v1/pubkey/app/authenticate/extensionApp"
MAX_ANSWER = 64 * 1024


@frozen(kw_only=True)
class ExtensionAppTokens:
    """What an extension app's authentication granted: the app token it sent and the
    Symphony token the pod paired with it. `expires_at` is the pair's expiry on *our* clock
    (epoch seconds), from the pod's `expireAt` (milliseconds on its clock)."""

    app_id: str
    app_token: str = field(repr=False)
    symphony_token: str = field(repr=False)
    expires_at: float


class AppLogin:
    """The app session's `AuthProvider` (also an `EndpointAuthProvider` with one endpoint,
    for `symbot check`): a JWT whose `sub` is the app id, signed by the app's key, posted to
    `/login/pubkey/app/authenticate`; `extension_app_login` authenticates an extension app."""

    login_roles: tuple[LoginRole, ...] = ("pod",)

    def __init__(self, credentials: AppAuth, *, clock: ServerClock | None = None) -> None:
        self.app_id = credentials.app_id
        self.username = f"app {credentials.app_id}"
        self._key_name = describe_source(credentials.private_key, "app.private_key")
        key = load_private_key(
            credentials.private_key, credentials.passphrase, field_name="app.private_key"
        )
        self._jwt = LoginJwt(self.app_id, key, credentials.jwt_lifetime, clock or ServerClock())

    def __repr__(self) -> str:
        return f"AppLogin(app_id={self.app_id!r}, key={self._key_name!r})"

    @property
    def clock(self) -> ServerClock:
        return self._jwt.clock

    def _hint(self) -> str:
        return (
            f"that the app {self.app_id!r} is registered on the pod, that its RSA public key "
            f"matches the private key {self._key_name}, and that this machine's clock is right"
        )

    async def login(self, transport: Transport) -> Tokens:
        obtained_at = time.time()
        answer = await self.login_endpoint(transport, "pod")
        return Tokens(session_token=answer.token, key_manager_token=None, obtained_at=obtained_at)

    async def login_endpoint(self, transport: Transport, role: LoginRole) -> EndpointLogin:
        if role != "pod":
            raise ValueError(f"an app logs in to the pod only, not to {role!r}")
        response = await post_login_jwt(
            transport, "pod", APP_LOGIN_PATH, self._jwt, lambda token: {"token": token}
        )
        return check_login_response(response, role="pod", username=self.username, hint=self._hint())

    async def extension_app_login(self, transport: Transport, app_token: str) -> ExtensionAppTokens:
        """Authenticate the extension app with `app_token` (circle of trust)."""
        response = await post_login_jwt(
            transport,
            "pod",
            EXTENSION_APP_PATH,
            self._jwt,
            lambda token: {"appToken": app_token, "authToken": token},
        )
        request = response.request
        if response.status_code in (400, 401, 403):
            # the refusal's words, through the one classifier of login answers
            check_login_response(response, role="pod", username=self.username, hint=self._hint())
        payload = _json_object(response)
        if response.status_code != 200 or payload is None:
            raise ApiError(
                request.method,
                str(request.url),
                response.status_code,
                "" if response.status_code != 200 else "the answer is not a JSON object",
            )
        symphony_token = payload.get("symphonyToken")
        expire_at = payload.get("expireAt")
        if (
            not isinstance(symphony_token, str)
            or not symphony_token
            or payload.get("appToken") != app_token
            or isinstance(expire_at, bool)
            or not isinstance(expire_at, int | float)
        ):
            raise ApiError(
                request.method,
                str(request.url),
                response.status_code,
                "the answer lacks the symphonyToken, the appToken sent, or a numeric expireAt",
            )
        self.clock.observe(response)
        # milliseconds, as Symphony's BDKs read it; a value that can only be seconds is taken so
        seconds = expire_at / 1000 if expire_at > 1e11 else float(expire_at)
        return ExtensionAppTokens(
            app_id=self.app_id,
            app_token=app_token,
            symphony_token=symphony_token,
            expires_at=self.clock.to_local(seconds),
        )

    async def aclose(self) -> None:
        """Nothing to close: the HTTP clients belong to the transport."""


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    if len(response.content) > MAX_ANSWER:
        return None
    try:
        payload = json.loads(response.content)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


class OboLogin:
    """One user's on-behalf-of session, obtained with the app's session (`app`, an
    `AuthSession` of an `AppLogin`), posted to `/login/pubkey/app/user/{userId}/authenticate`
    or `.../username/{name}/authenticate`. Give `username` or `user_id`. A 401 refreshes the
    app session once and tries again; a second 401 or a 403 is a refusal."""

    def __init__(
        self,
        app: TokenSource,
        app_id: str,
        *,
        username: str | None = None,
        user_id: int | None = None,
    ) -> None:
        if (username is None) == (user_id is None):
            raise ValueError("give exactly one of username= and user_id=")
        self._app = app
        self.app_id = app_id
        if user_id is None:
            assert username is not None
            self.username = username
            self._path = f"/login/pubkey/app/username/{quote(username, safe='')}/authenticate"
        else:
            self.username = f"user id {user_id}"
            self._path = f"/login/pubkey/app/user/{int(user_id)}/authenticate"

    def __repr__(self) -> str:
        return f"OboLogin(app_id={self.app_id!r}, user={self.username!r})"

    async def login(self, transport: Transport) -> Tokens:
        obtained_at = time.time()
        app = await self._app.tokens()
        response = await self._post(transport, app)
        if response.status_code == 401:  # the app session may have died: renew it once
            await response.aread()
            app = await self._app.refresh(stale=app, reason="an on-behalf-of login answered 401")
            response = await self._post(transport, app)
        hint = (
            f"that {self.username!r} is a user of this pod, that they installed the app "
            f"{self.app_id!r}, and that the app holds the on-behalf-of permission"
        )
        who = f"{self.username} (on behalf of, by app {self.app_id})"
        answer = check_login_response(response, role="pod", username=who, hint=hint)
        return Tokens(session_token=answer.token, key_manager_token=None, obtained_at=obtained_at)

    async def _post(self, transport: Transport, app: Tokens) -> httpx.Response:
        client = transport.http("pod")
        headers = {"sessionToken": app.session_token}
        return await transport.send_with_retry(lambda: client.post(self._path, headers=headers))

    async def aclose(self) -> None:
        """Nothing to close: the app session belongs to the app."""
