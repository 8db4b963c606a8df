"""Applications: act on behalf of users (OBO), and an extension app's circle of trust.

```python
from symbot import BotConfig
from symbot.apps import App

async with App(BotConfig.from_file("app.toml")) as app:   # [app] app_id, private_key
    async with app.obo(username="alice") as alice:
        await alice.send_message(stream_id, "Sent by the app, as Alice")

    pair = await app.authenticate_extension_app()          # circle of trust, backend side
    await app.validate_tokens(app_token, symphony_token)   # a pair the frontend presents
    user = await app.validate_jwt(user_jwt)                # who the frontend's user is
```

A `Bot` whose configuration also has `[app]` offers the same: `bot.obo(username=...)`.
Everything is RSA: Symphony deprecated the certificate variants (`/sessionauth/v1/app/...`).

May import: `symbot.client`, `symbot.messages`, `symbot.auth`, `symbot.config`,
`symbot.transport`, `symbot.errors`.
"""

from symbot.apps._app import App
from symbot.apps._obo import OboUser
from symbot.auth import (
    ExtensionAppTokens,
    ExtensionUser,
    InMemoryTokenPairStore,
    TokenPairStore,
)

__all__ = [
    "App",
    "ExtensionAppTokens",
    "ExtensionUser",
    "InMemoryTokenPairStore",
    "OboUser",
    "TokenPairStore",
]
