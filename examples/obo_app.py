"""An app that posts as a user: on-behalf-of (OBO) authentication.

A compliance or workflow application often has to act *as* a user: post a message in their
name, read their streams. Symphony lets a registered app do so for users who installed it:
the app logs in with its own RSA key (a JWT whose `sub` is its app id), then obtains a
session for the user with its app session. symbot keeps both sessions, renews either after a
401, and caches the users' sessions.

The configuration needs `[app]` (no bot account is required):

    pod_url = "https://acme.symphony.com"

    [app]
    app_id = "compliance-app"
    private_key = "compliance-app-private-key.pem"

Try it against the emulator (`symbot emulator --app-id compliance-app` writes such a
symbot.toml into symbot-emulator/, and registers the app for every user):

    python examples/obo_app.py symbot-emulator/symbot.toml alice <stream id> "Hello from the app"
"""

from __future__ import annotations

import sys

import anyio
import httpx

from symbot import BotConfig
from symbot.apps import App


async def post_as(
    config: BotConfig,
    username: str,
    stream_id: str,
    text: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Post `text` into `stream_id` as `username`; returns the new message's id."""
    async with App(config, transport=transport) as app, app.obo(username=username) as user:
        me = await user.session_info()
        sent = await user.send_message(
            stream_id, f"{text} (posted by {app.app_id} for {me.display_name})"
        )
        return sent.message_id if sent is not None else ""


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    config_path, username, stream_id, text = argv
    message_id = anyio.run(post_as, BotConfig.from_file(config_path), username, stream_id, text)
    print(f"posted message {message_id} as {username}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
