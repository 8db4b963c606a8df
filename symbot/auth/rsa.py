"""RSA (JWT) authentication: the bot signs a short JWT with its private key.

`RsaJwtAuth` is the credentials object (usable in `BotConfig.auth`); `bind(client)` loads
the key(s) and returns an `RsaJwtLogin`, the live `AuthProvider`, which posts a fresh
RS512 JWT to the pod's `/login/pubkey/authenticate` and the Key Manager's
`/relay/pubkey/authenticate` concurrently (or to one of them: `login_endpoint`). During a
key rotation the previous key is tried once when the current one is refused.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import jwt
from attrs import evolve, field, frozen
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.auth.keys import KeySource, describe_source, load_private_key
from symbot.auth.provider import (
    EndpointLogin,
    LoginRole,
    Tokens,
    check_login_response,
    login_both,
)
from symbot.errors import AuthenticationError, ConfigError
from symbot.retry import RetryPolicy, send_with_retry

if TYPE_CHECKING:
    from symbot.client import SymphonyClient

__all__ = ["RsaJwtAuth", "RsaJwtLogin"]

logger = logging.getLogger(__name__)

POD_LOGIN_PATH = "/login/pubkey/authenticate"
KM_LOGIN_PATH = "/relay/pubkey/authenticate"
MAX_JWT_LIFETIME = 300.0

_Answer = TypeVar("_Answer")


def _key_repr(value: KeySource | None) -> str:
    return "None" if value is None else repr(describe_source(value, "the config"))


def _check_username(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("auth.username", "must be a non-empty string", "set the bot's username")


def _check_lifetime(_instance: Any, _attribute: Any, value: float) -> None:
    if not 0 < value <= MAX_JWT_LIFETIME:
        raise ConfigError(
            "auth.jwt_lifetime",
            f"must be in (0, {MAX_JWT_LIFETIME:g}] seconds, got {value!r}",
            "use 240 (Symphony refuses login JWTs valid for more than 300 s)",
        )


def _passphrase(value: str | None, env_name: str | None, field_name: str) -> str | None:
    if value is not None or env_name is None:
        return value
    found = os.environ.get(env_name)
    if found is None:
        raise ConfigError(
            f"{field_name}_env",
            f"environment variable {env_name} is not set",
            f"export {env_name}, or set {field_name} instead",
        )
    return found


@frozen(kw_only=True)
class RsaJwtAuth:
    """RSA credentials: a username and a private key (path, PEM text or PEM bytes).

    `passphrase` (or the name of an environment variable, `passphrase_env`) decrypts an
    encrypted key; `previous_private_key` is tried once if the current key is refused.
    """

    username: str = field(validator=_check_username)
    private_key: KeySource = field(repr=_key_repr)
    passphrase: str | None = field(default=None, repr=False)
    passphrase_env: str | None = None
    previous_private_key: KeySource | None = field(default=None, repr=_key_repr)
    previous_passphrase: str | None = field(default=None, repr=False)
    jwt_lifetime: float = field(default=240.0, validator=_check_lifetime)

    def load_keys(self) -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey | None]:
        """The current and previous keys; raises `KeyLoadError`/`ConfigError` on bad input."""
        passphrase = _passphrase(self.passphrase, self.passphrase_env, "auth.passphrase")
        current = load_private_key(self.private_key, passphrase)
        previous = None
        if self.previous_private_key is not None:
            previous_passphrase = (
                passphrase if self.previous_passphrase is None else self.previous_passphrase
            )
            previous = load_private_key(
                self.previous_private_key,
                previous_passphrase,
                field_name="auth.previous_private_key",
            )
        return current, previous

    def bind(self, client: SymphonyClient) -> RsaJwtLogin:
        """The live provider, logging in through `client`'s pod and Key Manager clients."""
        current, previous = self.load_keys()
        return RsaJwtLogin(
            self,
            current,
            previous,
            pod=client.pod_login,
            key_manager=client.key_manager,
            retry=client.config.retry,
        )

    def bind_urls(
        self,
        *,
        pod_url: str,
        key_manager_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> RsaJwtLogin:
        """A provider with its own HTTP clients, for use without a `SymphonyClient`."""
        current, previous = self.load_keys()
        pod = httpx.AsyncClient(base_url=pod_url, transport=transport)
        km = httpx.AsyncClient(base_url=key_manager_url or pod_url, transport=transport)
        return RsaJwtLogin(
            self, current, previous, pod=pod, key_manager=km, retry=retry, owns_clients=True
        )


class RsaJwtLogin:
    """The RSA `EndpointAuthProvider`: one fresh JWT per login, pod and KM called concurrently
    by `login`, or one of them by `login_endpoint`."""

    login_roles: tuple[LoginRole, ...] = ("pod", "key_manager")

    def __init__(
        self,
        credentials: RsaJwtAuth,
        key: rsa.RSAPrivateKey,
        previous_key: rsa.RSAPrivateKey | None = None,
        *,
        pod: httpx.AsyncClient,
        key_manager: httpx.AsyncClient,
        retry: RetryPolicy | None = None,
        owns_clients: bool = False,
    ) -> None:
        self.username = credentials.username
        self.jwt_lifetime = credentials.jwt_lifetime
        self._key_name = describe_source(credentials.private_key, "auth.private_key")
        self._key = key
        self._previous_key = previous_key
        self._pod = pod
        self._key_manager = key_manager
        self._retry = retry or RetryPolicy()
        self._owns_clients = owns_clients

    def __repr__(self) -> str:
        return f"RsaJwtLogin(username={self.username!r}, key={self._key_name!r})"

    def make_jwt(self, key: rsa.RSAPrivateKey | None = None) -> str:
        """A fresh login JWT: RS512, `sub` = username, `exp` = now + jwt_lifetime."""
        now = int(time.time())
        claims = {"sub": self.username, "exp": now + int(self.jwt_lifetime)}
        return jwt.encode(claims, key or self._key, algorithm="RS512")

    async def login(self) -> Tokens:
        """Both tokens, from one JWT sent to both endpoints; if either refuses the current
        key, both are asked again with the previous key."""

        async def with_key(key: rsa.RSAPrivateKey) -> Tokens:
            token = self.make_jwt(key)
            return await login_both(
                lambda: self._post("pod", token), lambda: self._post("key_manager", token)
            )

        tokens, _refusal = await self._current_then_previous(with_key)
        return tokens

    async def login_endpoint(self, role: LoginRole) -> EndpointLogin:
        """Log in to the pod (`"pod"`) or the Key Manager (`"key_manager"`) alone, with the
        current key, then the previous one if the current is refused (the answer says so)."""

        async def with_key(key: rsa.RSAPrivateKey) -> EndpointLogin:
            return await self._post(role, self.make_jwt(key))

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

    def _endpoint(self, role: LoginRole) -> tuple[httpx.AsyncClient, str, str]:
        """The client, path and name of `role`'s login endpoint."""
        if role == "pod":
            return self._pod, POD_LOGIN_PATH, "the pod"
        if role == "key_manager":
            return self._key_manager, KM_LOGIN_PATH, "the Key Manager"
        raise ValueError(f"RSA login has no {role!r} endpoint; use one of {self.login_roles}")

    async def _post(self, role: LoginRole, token: str) -> EndpointLogin:
        client, path, where = self._endpoint(role)
        response = await send_with_retry(
            self._retry, lambda: client.post(path, json={"token": token})
        )
        hint = (
            f"that user {self.username!r} exists on {where} as a service account, that its RSA "
            f"public key matches the private key {self._key_name}, and that this machine's "
            "clock is right (the login JWT expires after "
            f"{self.jwt_lifetime:g} s)"
        )
        return check_login_response(response, role=role, username=self.username, hint=hint)

    async def aclose(self) -> None:
        if self._owns_clients:
            await self._pod.aclose()
            await self._key_manager.aclose()
