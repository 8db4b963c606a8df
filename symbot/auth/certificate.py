"""Certificate authentication: the bot presents a client certificate over mutual TLS.

`CertificateAuth` is the credentials object (usable in `BotConfig.auth`); `bind(client)`
loads the certificate and key (PEM, encrypted PEM or PKCS#12) and returns a
`CertificateLogin` with its own HTTP clients for session auth and the Key Manager, which
posts to `/sessionauth/v1/authenticate` and `/keyauth/v1/authenticate` (both concurrently,
or one of them: `login_endpoint`) with no body and no Content-Type, as Symphony requires.

The ssl module reads client keys only from files. The key is therefore written to a
private (0600) temporary file *encrypted with a random one-time password*, loaded, and the
file removed at once: unencrypted key material never touches the disk.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from attrs import field, frozen
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)

from symbot.auth.keys import ClientIdentity, load_client_identity
from symbot.auth.provider import (
    EndpointLogin,
    LoginRole,
    Tokens,
    check_login_response,
    login_both,
)
from symbot.errors import AuthenticationError, ConfigError, KeyLoadError, TransportError
from symbot.retry import RetryPolicy, send_with_retry, tls_refusal

if TYPE_CHECKING:
    from symbot.client import SymphonyClient

__all__ = ["CertificateAuth", "CertificateLogin", "client_ssl_context"]

SESSION_AUTH_PATH = "/sessionauth/v1/authenticate"
KM_AUTH_PATH = "/keyauth/v1/authenticate"


def client_ssl_context(identity: ClientIdentity, ca_bundle: Path | None = None) -> ssl.SSLContext:
    """A TLS client context trusting `ca_bundle` (or the default CAs) and presenting `identity`."""
    if ca_bundle is not None:
        context = ssl.create_default_context(cafile=str(ca_bundle))
    else:
        context = httpx.create_ssl_context()
    one_time = secrets.token_urlsafe(32).encode()
    pem = b"".join(
        [
            identity.certificate.public_bytes(Encoding.PEM),
            *(c.public_bytes(Encoding.PEM) for c in identity.chain),
            identity.key.private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(one_time)
            ),
        ]
    )
    fd, name = tempfile.mkstemp(prefix="symbot-", suffix=".pem")  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        context.load_cert_chain(name, password=one_time)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
    return context


def _path(value: Any) -> Any:
    return Path(value) if isinstance(value, str) else value


@frozen(kw_only=True)
class CertificateAuth:
    """Client-certificate credentials.

    `certificate` is a PEM file (certificate, optional chain, and the key unless `key` is
    given) or a PKCS#12 bundle (`.p12`/`.pfx`). `password` opens the bundle or decrypts the
    PEM key; `password_env` names an environment variable holding it. `username` defaults
    to the certificate's CN and is used in messages.
    """

    certificate: Path = field(converter=_path)
    key: Path | None = field(default=None, converter=_path)
    password: str | None = field(default=None, repr=False)
    password_env: str | None = None
    username: str | None = None

    def load(self) -> ClientIdentity:
        """The certificate and key; raises `KeyLoadError`/`ConfigError` on bad input."""
        password = self.password
        if password is None and self.password_env is not None:
            password = os.environ.get(self.password_env)
            if password is None:
                raise ConfigError(
                    "auth.password_env",
                    f"environment variable {self.password_env} is not set",
                    f"export {self.password_env}, or set auth.password instead",
                )
        return load_client_identity(self.certificate, self.key, password)

    def bind(self, client: SymphonyClient) -> CertificateLogin:
        """The live provider, with mTLS clients built from `client`'s settings."""
        identity = self.load()
        context = self._context(identity, client.config.ca_bundle)
        return CertificateLogin(
            self.username or identity.common_name or "<certificate without CN>",
            str(self.certificate),
            session_auth=client.make_http_client("session_auth", verify=context),
            key_manager=client.make_http_client("key_manager", verify=context),
            retry=client.config.retry,
        )

    def bind_urls(
        self,
        *,
        session_auth_url: str,
        key_manager_url: str | None = None,
        ca_bundle: Path | None = None,
        retry: RetryPolicy | None = None,
    ) -> CertificateLogin:
        """A provider with its own mTLS clients, for use without a `SymphonyClient`."""
        identity = self.load()
        context = self._context(identity, ca_bundle)
        return CertificateLogin(
            self.username or identity.common_name or "<certificate without CN>",
            str(self.certificate),
            session_auth=httpx.AsyncClient(base_url=session_auth_url, verify=context),
            key_manager=httpx.AsyncClient(
                base_url=key_manager_url or session_auth_url, verify=context
            ),
            retry=retry,
        )

    def _context(self, identity: ClientIdentity, ca_bundle: Path | None) -> ssl.SSLContext:
        try:
            return client_ssl_context(identity, ca_bundle)
        except ssl.SSLError as exc:
            raise KeyLoadError(
                str(ca_bundle if ca_bundle is not None else self.certificate),
                f"cannot be used for TLS ({exc.reason or type(exc).__name__})",
                "check the CA bundle and the certificate files",
            ) from None


class CertificateLogin:
    """The certificate `EndpointAuthProvider`: session auth and KM logins over mTLS,
    concurrently by `login`, or one of them by `login_endpoint`."""

    login_roles: tuple[LoginRole, ...] = ("session_auth", "key_manager")

    def __init__(
        self,
        username: str,
        certificate_name: str,
        *,
        session_auth: httpx.AsyncClient,
        key_manager: httpx.AsyncClient,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.username = username
        self._certificate_name = certificate_name
        self._session_auth = session_auth
        self._key_manager = key_manager
        self._retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return (
            f"CertificateLogin(username={self.username!r}, certificate={self._certificate_name!r})"
        )

    async def login(self) -> Tokens:
        return await login_both(
            lambda: self.login_endpoint("session_auth"),
            lambda: self.login_endpoint("key_manager"),
        )

    async def login_endpoint(self, role: LoginRole) -> EndpointLogin:
        """Log in to session auth (`"session_auth"`) or the Key Manager (`"key_manager"`)
        alone."""
        if role == "session_auth":
            client, path = self._session_auth, SESSION_AUTH_PATH
        elif role == "key_manager":
            client, path = self._key_manager, KM_AUTH_PATH
        else:
            raise ValueError(
                f"certificate login has no {role!r} endpoint; use one of {self.login_roles}"
            )
        hint = (
            f"that the client certificate {self._certificate_name} is issued by a CA the pod "
            f"trusts, that its CN is the bot's username ({self.username!r}), that certificate "
            "authentication is enabled for this account, and that the TLS handshake presents "
            "the certificate (no TLS-terminating proxy in between)"
        )
        try:
            # No body and no Content-Type: Symphony refuses either on these endpoints.
            response = await send_with_retry(self._retry, lambda: client.post(path))
        except TransportError as exc:
            refusal = tls_refusal(exc)
            url = f"POST {client.base_url.join(path)}"
            if refusal is not None and not isinstance(refusal, ssl.SSLCertVerificationError):
                raise AuthenticationError(
                    self.username,
                    url,
                    None,
                    f"the server refused the client certificate at the TLS handshake "
                    f"({refusal.reason}); check {hint}",
                ) from None
            raise TransportError(
                f"{exc} (a connection that closes during certificate login often means the "
                f"server refused the client certificate: check {hint})"
            ) from exc.__cause__
        return check_login_response(response, role=role, username=self.username, hint=hint)

    async def aclose(self) -> None:
        await self._session_auth.aclose()
        await self._key_manager.aclose()
