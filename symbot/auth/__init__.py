"""Authentication: providers that log in, and the session that keeps tokens fresh.

```python
from symbot.auth import AuthProvider, AuthSession, CertificateAuth, RsaJwtAuth, Tokens
```
"""

from symbot.auth.certificate import CertificateAuth, CertificateLogin
from symbot.auth.keys import ClientIdentity, load_client_identity, load_private_key
from symbot.auth.provider import (
    AuthProvider,
    Credentials,
    EndpointAuthProvider,
    EndpointLogin,
    LoginRole,
    Tokens,
)
from symbot.auth.rsa import RsaJwtAuth, RsaJwtLogin
from symbot.auth.session import AuthSession

__all__ = [
    "AuthProvider",
    "AuthSession",
    "CertificateAuth",
    "CertificateLogin",
    "ClientIdentity",
    "Credentials",
    "EndpointAuthProvider",
    "EndpointLogin",
    "LoginRole",
    "RsaJwtAuth",
    "RsaJwtLogin",
    "Tokens",
    "load_client_identity",
    "load_private_key",
]
