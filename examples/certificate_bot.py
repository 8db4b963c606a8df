"""A bot that logs in with a client certificate (mutual TLS) instead of an RSA key.

The configuration is built in Python here, to show every piece; the same in TOML is

    pod_url = "https://acme.symphony.com"
    session_auth_url = "https://acme-api.symphony.com:8444"   # if it differs from the pod
    [auth]
    type = "certificate"
    certificate = "bot.crt"      # PEM (with the key, or give `key`), or a .p12 bundle
    key = "bot.key"

Against the emulator, `symbot emulator` writes symbot-emulator/symbot-cert.toml, or:

    python examples/certificate_bot.py https://127.0.0.1:8443 \\
        symbot-emulator/mybot.crt symbot-emulator/mybot.key symbot-emulator/emulator-ca.pem
"""

from __future__ import annotations

import sys
from pathlib import Path

from symbot import Bot, BotConfig, CertificateAuth, Message, command


class WhoAmIBot(Bot):
    """Says who it is: the account named by its certificate."""

    @command("/whoami")
    async def whoami(self, msg: Message) -> None:
        """Show the bot's account."""
        await msg.reply(f"I am {self.me.username} (user {self.me.user_id}), by certificate")


def certificate_config(
    pod_url: str,
    certificate: Path,
    key: Path | None = None,
    ca_bundle: Path | None = None,
    *,
    password: str | None = None,
) -> BotConfig:
    """Every role on `pod_url`; the username is the certificate's common name (CN)."""
    return BotConfig(
        pod_url=pod_url,
        auth=CertificateAuth(certificate=certificate, key=key, password=password),
        ca_bundle=ca_bundle,
    )


if __name__ == "__main__":
    url, cert, *rest = sys.argv[1:]
    key_file = Path(rest[0]) if rest else None
    ca_file = Path(rest[1]) if len(rest) > 1 else None
    WhoAmIBot(certificate_config(url, Path(cert), key_file, ca_file)).run()
