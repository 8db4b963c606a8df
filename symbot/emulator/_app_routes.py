"""Application endpoints: app sessions, on-behalf-of (OBO) logins, extension-app
authentication, the pod certificate, and the short-lived access tokens.

- `POST /login/pubkey/app/authenticate`: body `{"token": <RS512 JWT, sub = app id>}`
  verified against the app's registered key like a user's login → an app session token.
- `POST /login/pubkey/app/user/{userId}/authenticate` and
  `.../username/{username}/authenticate`: header `sessionToken` = a live app session → a
  session token of that user, held by the app (401: no live app session, or no such user;
  403: the app may not act for that user).
- `POST /login/v1/pubkey/app/authenticate/extensionApp`: body `{"appToken", "authToken"}`
  (400 when malformed; the JWT as above, 401) → `{appId, appToken, symphonyToken, expireAt}`,
  `expireAt` in epoch milliseconds.
- `GET /pod/v1/podcert`: `{"certificate": <PEM>}`, the pod's signing certificate; public.
- `POST /login/idm/tokens[?scope=...]`: header `sessionToken` = a user's live session →
  `{"token_type": "Bearer", "expires_in", "access_token"}`; `GET /login/idm/keys`: the JWKS.

The certificate variants (`/sessionauth/v1/app/...`) are deprecated by Symphony and absent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from attrs import define

from symbot.emulator._app import Counters
from symbot.emulator._apps import AppRegistry, PodSigner
from symbot.emulator._auth_routes import grant, read_json_body, refuse
from symbot.emulator._directory import UserDirectory
from symbot.emulator._http import Request, Response, Route, error
from symbot.emulator._tokens import LoginRefused, TokenKind, TokenStore, verify_login_jwt

__all__ = ["AppRoutes"]

APP_LOGIN = "/login/pubkey/app/authenticate"
OBO_BY_USER_ID = "/login/pubkey/app/user/{user_id}/authenticate"
OBO_BY_USERNAME = "/login/pubkey/app/username/{username}/authenticate"
EXTENSION_APP_LOGIN = "/login/v1/pubkey/app/authenticate/extensionApp"
POD_CERTIFICATE = "/pod/v1/podcert"
IDM_TOKENS = "/login/idm/tokens"
IDM_KEYS = "/login/idm/keys"

MAX_APP_TOKEN_LENGTH = 4096
_SCOPE = re.compile(r"^[\w.:/-]+( [\w.:/-]+)*$")


@define
class AppRoutes:
    """The handlers, bound to the emulator state they read and update."""

    directory: UserDirectory
    apps: AppRegistry
    tokens: TokenStore
    signer: PodSigner
    counters: Counters
    clock: Callable[[], float]

    def routes(self) -> list[Route]:
        return [
            Route("POST", APP_LOGIN, self.app_login),
            Route("POST", OBO_BY_USER_ID, self.obo_by_user_id),
            Route("POST", OBO_BY_USERNAME, self.obo_by_username),
            Route("POST", EXTENSION_APP_LOGIN, self.extension_app_login),
            Route("GET", POD_CERTIFICATE, self.pod_certificate),
            Route("POST", IDM_TOKENS, self.access_token),
            Route("GET", IDM_KEYS, self.access_token_keys),
        ]

    async def app_login(self, request: Request) -> Response:
        try:
            app_id = verify_login_jwt(
                read_json_body(request).get("token"), self.apps.keys, self.clock(), subject="app"
            )
        except LoginRefused as refused:
            return refuse(self.counters, request, 401, str(refused))
        issued = self.tokens.issue(app_id, TokenKind.APP_SESSION)
        return grant(self.counters, request, app_id, issued.to_json())

    async def obo_by_user_id(self, request: Request) -> Response:
        raw = request.params["user_id"]
        try:
            username = self.directory.by_id(int(raw)).username if raw.isdigit() else None
        except KeyError:
            username = None
        return self._obo(request, username, f"user id {raw}")

    async def obo_by_username(self, request: Request) -> Response:
        username = request.params["username"]
        return self._obo(request, username if username in self.directory else None, username)

    def _obo(self, request: Request, username: str | None, named: str) -> Response:
        app = self.tokens.live(request.header("sessionToken"))
        if app is None or app.kind is not TokenKind.APP_SESSION:
            return refuse(
                self.counters,
                request,
                401,
                "Invalid session: the app sessionToken is missing, expired or revoked",
            )
        if username is None:
            return refuse(self.counters, request, 401, f"invalid user: no {named} on this pod")
        if not self.apps.may_act_for(app.owner, username):
            return refuse(
                self.counters,
                request,
                403,
                f"app {app.owner!r} is not entitled to act on behalf of {username!r}: the user "
                "has not installed it, or it lacks the on-behalf-of permission",
            )
        issued = self.tokens.issue(username, TokenKind.OBO_SESSION, app_id=app.owner)
        return grant(self.counters, request, f"{app.owner} for {username}", issued.to_json())

    async def extension_app_login(self, request: Request) -> Response:
        body = read_json_body(request)
        app_token = body.get("appToken")
        if not isinstance(app_token, str) or not 0 < len(app_token) <= MAX_APP_TOKEN_LENGTH:
            return refuse(
                self.counters,
                request,
                400,
                f"Request object is invalid: appToken must be a string of 1 to "
                f"{MAX_APP_TOKEN_LENGTH} characters",
            )
        now = self.clock()
        try:
            app_id = verify_login_jwt(body.get("authToken"), self.apps.keys, now, subject="app")
        except LoginRefused as refused:
            return refuse(self.counters, request, 401, str(refused))
        symphony_token = secrets.token_urlsafe(32)
        expire_at = now + self.tokens.session_lifetime
        self.apps.open_extension_session(app_id, app_token, symphony_token, expire_at)
        answer = {
            "appId": app_id,
            "appToken": app_token,
            "symphonyToken": symphony_token,
            "expireAt": int(expire_at * 1000),
        }
        return grant(self.counters, request, app_id, answer)

    async def pod_certificate(self, request: Request) -> Response:
        return Response.json(200, {"certificate": self.signer.certificate_pem.decode()})

    async def access_token(self, request: Request) -> Response:
        holder = self.tokens.live(request.header("sessionToken"))
        if holder is None or holder.kind not in (TokenKind.SESSION, TokenKind.OBO_SESSION):
            return error(401, "Invalid session: sessionToken missing, expired or revoked")
        scope = request.query_one("scope")
        if scope is not None and (len(scope) > 1024 or not _SCOPE.match(scope)):
            return error(400, "scope must be a space-separated list of entitlement names")
        lifetime = self.tokens.access_lifetime
        token = self.tokens.access_token(holder.owner, lifetime, scope)
        self.counters.access_tokens += 1
        return Response.json(
            200, {"token_type": "Bearer", "expires_in": int(lifetime), "access_token": token}
        )

    async def access_token_keys(self, request: Request) -> Response:
        return Response.json(200, self.tokens.jwks())
