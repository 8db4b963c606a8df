"""Login JWTs: signed for one subject (a username, or an app id) on the server's clock.

Symphony accepts a login JWT only while its `exp` lies between the server's now and five
minutes later. `LoginJwt` builds each one on `ServerClock.now()`; `post_login_jwt` posts a
fresh one and, when the answer is a 401 whose `Date` shows that the JWT was outside the
server's window (our clock was off and we had not measured it yet: the first login), signs
once more on the corrected clock and retries once. Any other refusal is the caller's to
classify.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.auth._clock import ServerClock
from symbot.config import MAX_JWT_LIFETIME, Role
from symbot.transport import Transport

__all__ = ["LoginJwt", "post_login_jwt"]


class LoginJwt:
    """Signs login JWTs (RS512) for `subject` with `key`, valid `lifetime` seconds on the
    server's clock."""

    def __init__(
        self, subject: str, key: rsa.RSAPrivateKey, lifetime: float, clock: ServerClock
    ) -> None:
        self.subject = subject
        self.lifetime = lifetime
        self.clock = clock
        self._key = key

    def __repr__(self) -> str:
        return f"LoginJwt(subject={self.subject!r}, lifetime={self.lifetime:g})"

    def sign(self, key: rsa.RSAPrivateKey | None = None) -> tuple[str, int]:
        """A fresh JWT (`sub`, `exp`) and its `exp`; `key` replaces the default key (the
        previous key of a rotation)."""
        exp = int(self.clock.now() + self.lifetime)
        return jwt.encode({"sub": self.subject, "exp": exp}, key or self._key, "RS512"), exp

    def expired_for_server(self, exp: int) -> bool:
        """True when a JWT with this `exp` is outside the server's window by our estimate."""
        remaining = exp - self.clock.now()
        return not 0 < remaining <= MAX_JWT_LIFETIME


async def post_login_jwt(
    transport: Transport,
    role: Role,
    path: str,
    signer: LoginJwt,
    body: Callable[[str], dict[str, Any]],
    key: rsa.RSAPrivateKey | None = None,
) -> httpx.Response:
    """POST `body(jwt)` to `path` of `role` with the transport's retries; see the module
    docstring for the one retry on a clock found to be off."""
    client = transport.http(role)
    for attempt in (1, 2):
        token, exp = signer.sign(key)
        response = await transport.send_with_retry(
            functools.partial(client.post, path, json=body(token))
        )
        signer.clock.observe(response)
        if attempt == 2 or response.status_code != 401 or not signer.expired_for_server(exp):
            break
        await response.aread()
    return response
