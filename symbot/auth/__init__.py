"""Authentication: providers that log in, and the session that keeps tokens fresh.

```python
from symbot.auth import AuthProvider, AuthSession, CertificateAuth, RsaJwtAuth, Tokens
```

`provider_for(credentials)` turns a description from the configuration (`RsaJwtAuth`,
`CertificateAuth`) into a live `AuthProvider`, reading its keys; an `AuthSession` keeps the
tokens a provider obtains and hands them to every request through its `httpx.Auth` flows.
A provider reaches the login endpoints through the `symbot.transport.Transport` passed to
`login(transport)`.

May import: `symbot.transport`, `symbot.config`, `symbot.errors`.
"""

from symbot.auth._certificate import CertificateLogin, load_certificate
from symbot.auth._credentials import provider_for
from symbot.auth._keygen import KeyPair, generate_key_pair, key_pair_paths, write_private_key
from symbot.auth._keys import key_file_warnings, load_client_identity, load_private_key
from symbot.auth._provider import (
    AuthProvider,
    EndpointAuthProvider,
    EndpointLogin,
    LoginRole,
    Tokens,
)
from symbot.auth._rsa import RsaJwtLogin
from symbot.auth._session import AuthSession
from symbot.config import CertificateAuth, RsaJwtAuth
from symbot.transport import ClientIdentity

__all__ = [
    "AuthProvider",
    "AuthSession",
    "CertificateAuth",
    "CertificateLogin",
    "ClientIdentity",
    "EndpointAuthProvider",
    "EndpointLogin",
    "KeyPair",
    "LoginRole",
    "RsaJwtAuth",
    "RsaJwtLogin",
    "Tokens",
    "generate_key_pair",
    "key_file_warnings",
    "key_pair_paths",
    "load_certificate",
    "load_client_identity",
    "load_private_key",
    "provider_for",
    "write_private_key",
]
