"""Certificate authentication: the bot presents a client certificate over mutual TLS.

`CertificateLogin` is the live `AuthProvider` for `CertificateAuth` credentials (see
`symbot.auth.provider_for`): it loads the certificate and key (PEM, encrypted PEM or
PKCS#12) once, and posts to `/sessionauth/v1/authenticate` and `/keyauth/v1/authenticate`
(both concurrently, or one of them: `login_endpoint`) through the transport's mutual-TLS
clients, with no body and no Content-Type, as Symphony requires.
"""

from __future__ import annotations

import ssl

from symbot.auth._keys import load_client_identity
from symbot.auth._provider import (
    EndpointLogin,
    LoginRole,
    Tokens,
    check_login_response,
    login_both,
)
from symbot.config import CertificateAuth, describe_source
from symbot.errors import AuthenticationError, KeyLoadError, NetworkError
from symbot.transport import ClientIdentity, Transport, tls_context, tls_refusal

__all__ = ["CertificateLogin", "load_certificate"]

SESSION_AUTH_PATH = "/sessionauth/v1/authenticate"
KM_AUTH_PATH = "/keyauth/v1/authenticate"


def load_certificate(credentials: CertificateAuth) -> ClientIdentity:
    """The certificate and key; raises `KeyLoadError`/`ConfigError` on bad input."""
    identity = load_client_identity(credentials.certificate, credentials.key, credentials.password)
    try:
        tls_context(None, identity)  # the ssl module's own verdict on the pair, now
    except ssl.SSLError as exc:
        raise KeyLoadError(
            describe_source(credentials.certificate, "auth.certificate"),
            f"cannot be used for TLS ({exc.reason or type(exc).__name__})",
            "check the certificate files",
        ) from None
    return identity


class CertificateLogin:
    """The certificate `EndpointAuthProvider`: session auth and KM logins over mTLS,
    concurrently by `login`, or one of them by `login_endpoint`."""

    login_roles: tuple[LoginRole, ...] = ("session_auth", "key_manager")

    def __init__(self, credentials: CertificateAuth) -> None:
        self._identity = load_certificate(credentials)
        self.username = (
            credentials.username or self._identity.common_name or "<certificate without CN>"
        )
        self._certificate_name = describe_source(credentials.certificate, "auth.certificate")

    def __repr__(self) -> str:
        return (
            f"CertificateLogin(username={self.username!r}, certificate={self._certificate_name!r})"
        )

    async def login(self, transport: Transport) -> Tokens:
        return await login_both(
            lambda: self.login_endpoint(transport, "session_auth"),
            lambda: self.login_endpoint(transport, "key_manager"),
        )

    async def login_endpoint(self, transport: Transport, role: LoginRole) -> EndpointLogin:
        """Log in to session auth (`"session_auth"`) or the Key Manager (`"key_manager"`)
        alone."""
        if role == "session_auth":
            path = SESSION_AUTH_PATH
        elif role == "key_manager":
            path = KM_AUTH_PATH
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
            client = transport.http(role, identity=self._identity)
        except ssl.SSLError as exc:
            raise KeyLoadError(
                str(transport.config.ca_bundle or self._certificate_name),
                f"cannot be used for TLS ({exc.reason or type(exc).__name__})",
                "check the CA bundle and the certificate files",
            ) from None
        try:
            # No body and no Content-Type: Symphony refuses either on these endpoints.
            response = await transport.send_with_retry(lambda: client.post(path))
        except NetworkError as exc:
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
            raise NetworkError(
                f"{exc} (a connection that closes during certificate login often means the "
                f"server refused the client certificate: check {hint})"
            ) from exc.__cause__
        return check_login_response(response, role=role, username=self.username, hint=hint)

    async def aclose(self) -> None:
        """Nothing to close: the HTTP clients belong to the transport."""
