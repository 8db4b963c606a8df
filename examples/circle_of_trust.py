"""The backend of an extension app: Symphony's circle of trust, and who the user is.

An extension app runs in the Symphony client (its frontend) and talks to its own backend.
Before they trust each other:

1. the backend authenticates the app with an app token it makes up
   (`app.authenticate_extension_app()`); the pod pairs it with a Symphony token;
2. the Symphony client hands both tokens to the frontend, which sends them to the backend;
   the backend checks that the pair is one it obtained (`app.validate_tokens(...)`), so it
   knows it talks to a frontend loaded by Symphony;
3. the frontend then sends the user's JWT (from the client extension API); the backend
   verifies it with the pod's certificate and learns who the user is (`app.validate_jwt`).

`ExtensionBackend` is that backend, with the web framework left out: wire its three methods
to the HTTP routes your frontend calls. The pairs live in memory by default; give `App` a
`token_store` shared by your instances (Redis, a database) when you run several.

    python examples/circle_of_trust.py symbot-emulator/symbot.toml
"""

from __future__ import annotations

import sys

import anyio
import httpx

from symbot import BotConfig
from symbot.apps import App, ExtensionUser
from symbot.errors import InvalidJwtError


class ExtensionBackend:
    """The three calls an extension app's frontend makes to its backend."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def app_token(self) -> str:
        """Step 1: authenticate the app; the app token goes to the frontend's `init`."""
        tokens = await self.app.authenticate_extension_app()
        return tokens.app_token

    async def trust(self, app_token: str, symphony_token: str) -> bool:
        """Step 2: the pair the Symphony client handed to the frontend."""
        return await self.app.validate_tokens(app_token, symphony_token)

    async def who(self, jwt: str) -> ExtensionUser | None:
        """Step 3: the user the frontend's JWT vouches for; None when it is refused."""
        try:
            return await self.app.validate_jwt(jwt)
        except InvalidJwtError as refused:
            print(f"refused a user JWT: {refused.reason}", file=sys.stderr)
            return None


async def main(config: BotConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
    """Authenticate once, as the backend does when a frontend starts (the token itself is
    a secret between the backend, Symphony and the frontend: it is not printed)."""
    async with App(config, transport=transport) as app:
        backend = ExtensionBackend(app)
        token = await backend.app_token()
        print(f"authenticated {app.app_id}: an app token of {len(token)} characters is ready")
        print(f"pod certificate: {len(await app.pod_certificate())} characters of PEM")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    anyio.run(main, BotConfig.from_file(sys.argv[1]))
