"""RSA (JWT) authentication: the bot signs a short JWT with its private key.

`RsaJwtLogin` is the live `AuthProvider` for `RsaJwtAuth` credentials (see
`symbot.auth.provider_for`): it posts a fresh RS512 JWT to the pod's
`/login/pubkey/authenticate` and the Key Manager's `/relay/pubkey/authenticate`
concurrently (or to one of them: `login_endpoint`). During a key rotation the previous key
is tried once when the current one is refused. JWTs are built on the server's clock
(`symbot.auth.ServerClock`, measured from the login answers).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from attrs import evolve
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.auth._clock import ServerClock
from symbot.auth._jwt import LoginJwt, post_login_jwt
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
from symbot.transport import Transport

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

    def __init__(self, credentials: RsaJwtAuth, *, clock: ServerClock | None = None) -> None:
        self.username = credentials.username
        self.jwt_lifetime = credentials.jwt_lifetime
        self._key_name = describe_source(credentials.private_key, "auth.private_key")
        self._key, self._previous_key = load_rsa_keys(credentials)
        self._jwt = LoginJwt(self.username, self._key, self.jwt_lifetime, clock or ServerClock())

    def __repr__(self) -> str:
        return f"RsaJwtLogin(username={self.username!r}, key={self._key_name!r})"

    @property
    def clock(self) -> ServerClock:
        """The servers' clock as measured from the login answers."""
        return self._jwt.clock

    def make_jwt(self, key: rsa.RSAPrivateKey | None = None) -> str:
        """A fresh login JWT: RS512, `sub` = username, `exp` = the server's now + jwt_lifetime."""
        return self._jwt.sign(key)[0]

    async def login(self, transport: Transport) -> Tokens:
        """Both tokens, each endpoint sent a fresh JWT; if either refuses the current key,
        both are asked again with the previous key."""

        async def with_key(key: rsa.RSAPrivateKey) -> Tokens:
            return await login_both(
                lambda: self._post(transport, "pod", key),
                lambda: self._post(transport, "key_manager", key),
            )

        tokens, _refusal = await self._current_then_previous(with_key)
        return tokens

    async def login_endpoint(self, transport: Transport, role: LoginRole) -> EndpointLogin:
        """Log in to the pod (`"pod"`) or the Key Manager (`"key_manager"`) alone, with the
        current key, then the previous one if the current is refused (the answer says so)."""

        async def with_key(key: rsa.RSAPrivateKey) -> EndpointLogin:
            return await self._post(transport, role, key)

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

    async def _post(
        self, transport: Transport, role: LoginRole, key: rsa.RSAPrivateKey
    ) -> EndpointLogin:
        if role == "pod":
            path, where = POD_LOGIN_PATH, "the pod"
        elif role == "key_manager":
            path, where = KM_LOGIN_PATH, "the Key Manager"
        else:
            raise ValueError(f"RSA login has no {role!r} endpoint; use one of {self.login_roles}")
        response = await post_login_jwt(
            transport, role, path, self._jwt, lambda token: {"token": token}, key
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
