"""Authentication: providers that log in, and the session that keeps tokens fresh.

```python
from symbot.auth import AuthProvider, AuthSession, CertificateAuth, RsaJwtAuth, Tokens
```

`provider_for(credentials)` turns a description from the configuration (`RsaJwtAuth`,
`CertificateAuth`) into a live `AuthProvider`, reading its keys; an `AuthSession` keeps the
tokens a provider obtains and hands them to every request through its `httpx.Auth` flows,
counting logins and 401s in its `LoginStats` and saying how it fares in `SessionHealth`.
Apps have their providers too (`AppLogin` for the app's session, `OboLogin` for a user's
on-behalf-of session) and the pieces of an extension app's circle of trust (token pairs,
the pod certificate, user JWTs); `symbot.apps.App` puts them together.
A provider reaches the login endpoints through the `symbot.transport.Transport` passed to
`login(transport)`.

May import: `symbot.transport`, `symbot.config`, `symbot.errors`.
"""

from symbot.auth._access import AccessTokenLogin
from symbot.auth._apps import AppLogin, ExtensionAppTokens, OboLogin
from symbot.auth._certificate import CertificateLogin, load_certificate
from symbot.auth._clock import ServerClock
from symbot.auth._credentials import provider_for
from symbot.auth._extension import (
    NOT_SIGNED_BY_THE_POD,
    ExtensionUser,
    InMemoryTokenPairStore,
    PodCertificate,
    TokenPairStore,
    pair_is_valid,
    verify_user_jwt,
)
from symbot.auth._keygen import KeyPair, generate_key_pair, key_pair_paths, write_private_key
from symbot.auth._keys import key_file_warnings, load_client_identity, load_private_key
from symbot.auth._outage import SessionHealth, SessionState
from symbot.auth._provider import (
    AuthProvider,
    EndpointAuthProvider,
    EndpointLogin,
    LoginRole,
    Tokens,
)
from symbot.auth._rsa import RsaJwtLogin
from symbot.auth._session import AuthSession
from symbot.auth._stats import LoginStats
from symbot.config import AppAuth, CertificateAuth, RsaJwtAuth
from symbot.transport import ClientIdentity

__all__ = [
    "NOT_SIGNED_BY_THE_POD",
    "AccessTokenLogin",
    "AppAuth",
    "AppLogin",
    "AuthProvider",
    "AuthSession",
    "CertificateAuth",
    "CertificateLogin",
    "ClientIdentity",
    "EndpointAuthProvider",
    "EndpointLogin",
    "ExtensionAppTokens",
    "ExtensionUser",
    "InMemoryTokenPairStore",
    "KeyPair",
    "LoginRole",
    "LoginStats",
    "OboLogin",
    "PodCertificate",
    "RsaJwtAuth",
    "RsaJwtLogin",
    "ServerClock",
    "SessionHealth",
    "SessionState",
    "TokenPairStore",
    "Tokens",
    "generate_key_pair",
    "key_file_warnings",
    "key_pair_paths",
    "load_certificate",
    "load_client_identity",
    "load_private_key",
    "pair_is_valid",
    "provider_for",
    "verify_user_jwt",
    "write_private_key",
]
