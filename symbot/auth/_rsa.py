"""RSA (JWT) authentication: the bot signs a short JWT with its private key.

`RsaJwtLogin` is the live `AuthProvider` for `RsaJwtAuth` credentials (see
`symbot.auth.provider_for`): it posts a fresh RS512 JWT to the pod's
`/login/pubkey/authenticate` and the Key Manager's `/relay/pubkey/authenticate`
concurrently (or to one of them: `login_endpoint`). During a key rotation the previous key
is tried once when the current one is refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import jwt
from attrs import evolve
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.auth._keys import load_private_key
from symbot.auth._provider import (
    EndpointLogin,
    LoginRole,
    Tokens,
    check_login_response,
    login_both,
)
from symbot.config import RsaJwtAuth, describe_source
from symbot.errors import AuthenticationError
from symbot.transport import Transport, send_with_retry

__all__ = ["RsaJwtLogin", "load_rsa_keys"]

logger = logging.getLogger("symbot.auth")

POD_LOGIN_PATH = "/login/pubkey/authenticate"
KM_LOGIN_PATH = "/relay/pubkey/authenticate"

_Answer = TypeVar("_Answer")


def load_rsa_keys(
    credentials: RsaJwtAuth,
) -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey | None]:
    """The current and previous keys; raises `KeyLoadError` on bad input."""
    passphrase = credentials.passphrase
    current = load_private_key(credentials.private_key, passphrase)
    previous = None
    if credentials.previous_private_key is not None:
        previous_passphrase = (
            passphrase
            if credentials.previous_passphrase is None
            else credentials.previous_passphrase
        )
        previous = load_private_key(
            credentials.previous_private_key,
            previous_passphrase,
            field_name="auth.previous_private_key",
        )
    return current, previous


class RsaJwtLogin:
    """The RSA `EndpointAuthProvider`: one fresh JWT per login, pod and KM called concurrently
    by `login`, or one of them by `login_endpoint`."""

    login_roles: tuple[LoginRole, ...] = ("pod", "key_manager")

    def __init__(self, credentials: RsaJwtAuth) -> None:
        self.username = credentials.username
        self.jwt_lifetime = credentials.jwt_lifetime
        self._key_name = describe_source(credentials.private_key, "auth.private_key")
        self._key, self._previous_key = load_rsa_keys(credentials)

    def __repr__(self) -> str:
        return f"RsaJwtLogin(username={self.username!r}, key={self._key_name!r})"

    def make_jwt(self, key: rsa.RSAPrivateKey | None = None) -> str:
        """A fresh login JWT: RS512, `sub` = username, `exp` = now + jwt_lifetime."""
        now = int(time.time())
        claims = {"sub": self.username, "exp": now + int(self.jwt_lifetime)}
        return jwt.encode(claims, key or self._key, algorithm="RS512")

    async def login(self, transport: Transport) -> Tokens:
        """Both tokens, from one JWT sent to both endpoints; if either refuses the current
        key, both are asked again with the previous key."""

        async def with_key(key: rsa.RSAPrivateKey) -> Tokens:
            token = self.make_jwt(key)
            return await login_both(
                lambda: self._post(transport, "pod", token),
                lambda: self._post(transport, "key_manager", token),
            )

        tokens, _refusal = await self._current_then_previous(with_key)
        return tokens

    async def login_endpoint(self, transport: Transport, role: LoginRole) -> EndpointLogin:
        """Log in to the pod (`"pod"`) or the Key Manager (`"key_manager"`) alone, with the
        current key, then the previous one if the current is refused (the answer says so)."""

        async def with_key(key: rsa.RSAPrivateKey) -> EndpointLogin:
            return await self._post(transport, role, self.make_jwt(key))

        answer, refusal = await self._current_then_previous(with_key)
        return answer if refusal is None else evolve(answer, current_key_refusal=refusal)

    async def _current_then_previous(
        self, attempt: Callable[[rsa.RSAPrivateKey], Awaitable[_Answer]]
    ) -> tuple[_Answer, AuthenticationError | None]:
        """`attempt` with the current key, then once with the previous key if the current
        one is refused; also returns that refusal when the previous key was needed."""
        try:
            return await attempt(self._key), None
        except AuthenticationError as refused:
            if self._previous_key is None:
                raise
            logger.warning(
                "the current key of %r was refused by %s (%s); trying the previous key "
                "(key rotation): import the new public key on the pod soon",
                self.username,
                refused.endpoint,
                refused.status,
            )
            try:
                return await attempt(self._previous_key), refused
            except AuthenticationError as also_refused:
                raise AuthenticationError(
                    self.username,
                    also_refused.endpoint,
                    also_refused.status,
                    "both the current and the previous key were refused; " + also_refused.hint,
                    server_message=also_refused.server_message,
                ) from None

    async def _post(self, transport: Transport, role: LoginRole, token: str) -> EndpointLogin:
        if role == "pod":
            path, where = POD_LOGIN_PATH, "the pod"
        elif role == "key_manager":
            path, where = KM_LOGIN_PATH, "the Key Manager"
        else:
            raise ValueError(f"RSA login has no {role!r} endpoint; use one of {self.login_roles}")
        client = transport.http(role)
        response = await send_with_retry(
            transport.retry, lambda: client.post(path, json={"token": token})
        )
        hint = (
            f"that user {self.username!r} exists on {where} as a service account, that its RSA "
            f"public key matches the private key {self._key_name}, and that this machine's "
            "clock is right (the login JWT expires after "
            f"{self.jwt_lifetime:g} s)"
        )
        return check_login_response(response, role=role, username=self.username, hint=hint)

    async def aclose(self) -> None:
        """Nothing to close: the HTTP clients belong to the transport."""
