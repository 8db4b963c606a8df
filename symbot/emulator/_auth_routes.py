"""Login endpoints (RSA JWT and client certificate), session info and the health check.

- `POST /login/pubkey/authenticate` (pod) and `POST /relay/pubkey/authenticate` (KM):
  body `{"token": "<RS512 JWT>"}`, checked by `verify_login_jwt`; any failure is 401.
- `POST /sessionauth/v1/authenticate` and `POST /keyauth/v1/authenticate`: the client
  certificate from the ASGI `tls` extension must be issued by the emulator CA (checked with
  `cryptography`) and name a known user in its CN. No certificate, a foreign one or an
  unknown CN is 401. In-process there is no TLS, so these endpoints always refuse there.
  The request must carry no Content-Type and no body (see `CERTIFICATE_LOGIN_NOTICE`): a
  Content-Type is 401 unless `strict_content_type` is off (older clients send one), a body
  is 500 always, the statuses the service answers, each with a message saying why.
- `GET /pod/v2/sessioninfo`: the caller as a UserV2. `GET /agent/v3/health`: `UP`, no auth.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from attrs import define

from symbot import __version__
from symbot.emulator._app import Counters
from symbot.emulator._ca import CertificateAuthority, CertificateRejected
from symbot.emulator._directory import UserDirectory, to_user_v2
from symbot.emulator._http import Request, Response, Route, error
from symbot.emulator._keys import UserKeys
from symbot.emulator._tokens import LoginRefused, TokenKind, TokenStore, verify_login_jwt

__all__ = ["CERTIFICATE_LOGIN_NOTICE", "AuthRoutes", "grant", "read_json_body", "refuse"]

logger = logging.getLogger("symbot.emulator")

POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
SESSION_CERT_LOGIN = "/sessionauth/v1/authenticate"
KM_CERT_LOGIN = "/keyauth/v1/authenticate"

CERTIFICATE_LOGIN_NOTICE = (
    "https://developers.symphony.com/restapi/main/bot-authentication/session-authenticate"
)
"""Symphony's Session Authenticate (Cert) page, whose "backward compatibility breaking notice"
says: starting in March 2025, the request's Content-Type header must be empty and its body
null. The service answers **401** when a Content-Type is sent and **500** when a body comes
without one (reported by Point72's csp-adapter-symphony, November 2024); the emulator applies
the rule, with those statuses, to both certificate login endpoints."""


@define
class AuthRoutes:
    """The handlers, bound to the emulator state they read and update."""

    directory: UserDirectory
    keys: Mapping[str, UserKeys]
    tokens: TokenStore
    ca: CertificateAuthority
    counters: Counters
    clock: Callable[[], float]
    strict_content_type: bool = True

    def routes(self) -> list[Route]:
        return [
            Route("POST", POD_LOGIN, self._pubkey_login(TokenKind.SESSION)),
            Route("POST", KM_LOGIN, self._pubkey_login(TokenKind.KEY_MANAGER)),
            Route("POST", SESSION_CERT_LOGIN, self._certificate_login(TokenKind.SESSION)),
            Route("POST", KM_CERT_LOGIN, self._certificate_login(TokenKind.KEY_MANAGER)),
            Route("GET", "/pod/v2/sessioninfo", self.session_info),
            Route("GET", "/agent/v3/health", self.health),
        ]

    def _pubkey_login(self, kind: TokenKind) -> Callable[[Request], Awaitable[Response]]:
        async def login(request: Request) -> Response:
            token = read_json_body(request).get("token")
            try:
                username = verify_login_jwt(token, self.keys, self.clock())
            except LoginRefused as refused:
                return self._refuse(request, 401, str(refused))
            return self._grant(request, username, kind)

        return login

    def _certificate_login(self, kind: TokenKind) -> Callable[[Request], Awaitable[Response]]:
        async def login(request: Request) -> Response:
            # The rule and the statuses are Symphony's: see CERTIFICATE_LOGIN_NOTICE.
            if self.strict_content_type and request.header("content-type") is not None:
                return self._refuse(
                    request,
                    401,
                    "certificate authentication takes no Content-Type header since March 2025 "
                    f"({CERTIFICATE_LOGIN_NOTICE}); send none, or serve the emulator in lenient "
                    "mode for older clients (Emulator(strict_content_type=False), "
                    "symbot emulator --lenient-content-type)",
                )
            if request.body:
                return self._refuse(
                    request,
                    500,
                    "certificate authentication takes no request body since March 2025 "
                    f"({CERTIFICATE_LOGIN_NOTICE}); send none",
                )
            chain = _client_cert_chain(request)
            if not chain:
                return self._refuse(
                    request,
                    401,
                    "no client certificate: certificate authentication needs mutual TLS "
                    "on the emulator's https URL",
                )
            try:
                common_name = self.ca.verify_client(chain[0])
            except CertificateRejected as rejected:
                return self._refuse(request, 401, str(rejected))
            if common_name not in self.directory:
                return self._refuse(
                    request, 401, f"certificate CN {common_name!r} is not a user of this pod"
                )
            return self._grant(request, common_name, kind)

        return login

    async def session_info(self, request: Request) -> Response:
        assert request.username is not None
        return Response.json(200, to_user_v2(self.directory.get(request.username)))

    async def health(self, request: Request) -> Response:
        return Response.json(200, {"status": "UP", "version": f"symbot-emulator {__version__}"})

    def _grant(self, request: Request, username: str, kind: TokenKind) -> Response:
        return grant(self.counters, request, username, self.tokens.issue(username, kind).to_json())

    def _refuse(self, request: Request, status: int, reason: str) -> Response:
        return refuse(self.counters, request, status, reason)


def grant(counters: Counters, request: Request, who: str, body: Mapping[str, Any]) -> Response:
    """A login granted to `who`: counted per endpoint, answered 200 with `body`."""
    counters.logins[request.path] += 1
    logger.debug("login of %r on %s granted", who, request.path)
    return Response.json(200, dict(body))


def refuse(counters: Counters, request: Request, status: int, reason: str) -> Response:
    """A login refused: counted per endpoint, logged, answered with Symphony's error shape."""
    counters.login_failures[request.path] += 1
    logger.info("login on %s refused (%d): %s", request.path, status, reason)
    return error(status, reason)


def read_json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or {} when it is missing or not an object."""
    try:
        body = request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _client_cert_chain(request: Request) -> list[Any]:
    extensions = request.scope.get("extensions") or {}
    tls = extensions.get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return list(chain)
