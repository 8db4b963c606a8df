"""From the configuration's description of credentials to the provider that logs in."""

from __future__ import annotations

from symbot.auth._certificate import CertificateLogin
from symbot.auth._clock import ServerClock
from symbot.auth._rsa import RsaJwtLogin
from symbot.config import Credentials, RsaJwtAuth

__all__ = ["provider_for"]


def provider_for(
    credentials: Credentials, *, clock: ServerClock | None = None
) -> RsaJwtLogin | CertificateLogin:
    """The live provider for `credentials`, with its keys read now (`KeyLoadError` or
    `ConfigError` when they cannot be). An RSA provider builds its login JWTs on `clock`
    (the deployment's `ServerClock`, measured from the login answers)."""
    if isinstance(credentials, RsaJwtAuth):
        return RsaJwtLogin(credentials, clock=clock)
    return CertificateLogin(credentials)
