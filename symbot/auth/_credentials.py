"""From the configuration's description of credentials to the provider that logs in."""

from __future__ import annotations

from symbot.auth._certificate import CertificateLogin
from symbot.auth._rsa import RsaJwtLogin
from symbot.config import Credentials, RsaJwtAuth

__all__ = ["provider_for"]


def provider_for(credentials: Credentials) -> RsaJwtLogin | CertificateLogin:
    """The live provider for `credentials`, with its keys read now (`KeyLoadError` or
    `ConfigError` when they cannot be)."""
    if isinstance(credentials, RsaJwtAuth):
        return RsaJwtLogin(credentials)
    return CertificateLogin(credentials)
