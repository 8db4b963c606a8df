"""The one list of configuration keys: `CONFIG_KEYS`.

It drives loading (`symbot.config._loading` refuses an unknown key), the environment
variable of each key (`SYMBOT_` + the key in capitals, dots as underscores) and the
documentation (`describe()`, docs/configuration.md, checked by the test suite). The keys of
a section class come from its attrs fields, with their defaults: one truth for both.
"""

from __future__ import annotations

from typing import Any

from attrs import fields, frozen

from symbot.config._retry import RetryPolicy
from symbot.config._sections import (
    ROLES,
    BotSettings,
    DatafeedConfig,
    HealthConfig,
    Limits,
    Timeouts,
)

__all__ = ["BY_ENV", "BY_KEY", "CONFIG_KEYS", "ConfigKey", "describe"]


def describe() -> str:
    """A Markdown table of every key: default, environment variable, meaning."""
    rows = ["| key | default | environment variable | description |", "|---|---|---|---|"]
    rows += [f"| `{k.key}` | {k.default} | `{k.env}` | {k.description} |" for k in CONFIG_KEYS]
    return "\n".join(rows)


@frozen
class ConfigKey:
    """One configuration key, for loading and for documentation.

    `kind` is str, path, key (a path or PEM text), float, int, bool, or float?/int?/bool?
    (may be unset). A `secret` key's value is never shown: a value of the wrong type goes on
    to the checks of `RsaJwtAuth`, `CertificateAuth` or the URLs, which name its type only."""

    key: str
    kind: str
    default: str
    description: str
    secret: bool = False

    @property
    def env(self) -> str:
        return "SYMBOT_" + self.key.upper().replace(".", "_")


def _section(name: str, cls: type, docs: dict[str, tuple[str, str]]) -> list[ConfigKey]:
    """The keys of one attrs section class; defaults come from the class itself."""

    def shown(value: Any) -> str:
        return (
            "none"
            if value is None
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )

    return [ConfigKey(f"{name}.{f.name}", *docs[f.name][:1], shown(f.default), docs[f.name][1])
            for f in fields(cls)]  # fmt: skip


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        "pod_url", "str", "(required)", "Base URL of the pod, e.g. https://acme.symphony.com"
    ),
    ConfigKey("agent_url", "str", "pod_url", "Base URL of the agent"),
    ConfigKey("key_manager_url", "str", "pod_url", "Base URL of the Key Manager"),
    ConfigKey("session_auth_url", "str", "pod_url", "Base URL of session auth (certificate login)"),
    ConfigKey(
        "allow_insecure_http",
        "bool",
        "false",
        "Allow http:// role URLs on hosts other than loopback (tokens in clear text)",
    ),
    ConfigKey(
        "ca_bundle", "path", "system/certifi", "PEM file of CAs to trust instead of the default"
    ),
    ConfigKey("proxy", "str", "none", "HTTP(S) proxy URL for every role", secret=True),
    *(
        ConfigKey(f"proxies.{r}", "str", "proxy", f"Proxy URL for the {r} role only", secret=True)
        for r in ROLES
    ),
    ConfigKey(
        "max_token_age",
        "float?",
        "none",
        "Renew tokens ahead of this age (s), from the pod's session policy; none: until a 401",
    ),
    ConfigKey("refresh_margin", "float", "60", "Renew this many seconds before expiry"),
    ConfigKey(
        "relogin_give_up_after",
        "float?",
        "none",
        "Stop after re-logins failed this long (s) once credentials worked; none: never",
    ),
    ConfigKey(
        "refresh_jitter", "float", "0.1", "Random fraction taken off the wait before a renewal"
    ),
    ConfigKey("auth.type", "str", "from keys", '"rsa" or "certificate"'),
    ConfigKey("auth.username", "str", "(rsa: required)", "The bot's service account username"),
    ConfigKey(
        "auth.private_key",
        "key",
        "none",
        "RSA private key (PKCS#1/#8): a PEM file, or the PEM text itself",
        secret=True,
    ),
    ConfigKey(
        "auth.passphrase", "str", "none", "Passphrase of an encrypted private key", secret=True
    ),
    ConfigKey("auth.passphrase_env", "str", "none", "Environment variable holding the passphrase"),
    ConfigKey(
        "auth.previous_private_key",
        "key",
        "none",
        "Previous key (file or PEM text), tried if the current is refused",
        secret=True,
    ),
    ConfigKey(
        "auth.previous_passphrase",
        "str",
        "auth.passphrase",
        "Passphrase of the previous key",
        secret=True,
    ),
    ConfigKey("auth.jwt_lifetime", "float", "240", "Login JWT lifetime in seconds (at most 300)"),
    ConfigKey(
        "auth.certificate",
        "key",
        "none",
        "Client certificate: PEM file or text (cert [+ key]), or .p12",
        secret=True,
    ),
    ConfigKey("auth.p12", "path", "none", "Client certificate as a PKCS#12 bundle"),
    ConfigKey(
        "auth.key",
        "key",
        "in certificate",
        "Private key of a PEM client certificate: a file, or the PEM text",
        secret=True,
    ),
    ConfigKey(
        "auth.password",
        "str",
        "none",
        "Password of the .p12 or of an encrypted PEM key",
        secret=True,
    ),
    ConfigKey("auth.password_env", "str", "none", "Environment variable holding auth.password"),
    ConfigKey("app.app_id", "str", "(app: required)", "The app's id (on-behalf-of, extension app)"),
    ConfigKey(
        "app.private_key",
        "key",
        "(app: required)",
        "The app's RSA private key: a PEM file, or the PEM text itself",
        secret=True,
    ),
    ConfigKey("app.passphrase", "str", "none", "Passphrase of an encrypted app key", secret=True),
    ConfigKey("app.passphrase_env", "str", "none", "Environment variable holding it"),
    ConfigKey(
        "app.jwt_lifetime", "float", "240", "App login JWT lifetime in seconds (at most 300)"
    ),
    ConfigKey("app.obo_cache_size", "int", "1000", "Users whose on-behalf-of sessions are kept"),
    ConfigKey("app.check_username", "str", "none", "A user `symbot check` acts for (OBO)"),
    *_section(
        "timeouts",
        Timeouts,
        {name: ("float", f"{name} timeout (s)") for name in ("connect", *ROLES)},
    ),
    *_section(
        "retry",
        RetryPolicy,
        {
            "initial": ("float", "First backoff (s)"),
            "maximum": ("float", "Longest backoff (s)"),
            "multiplier": ("float", "Backoff growth per attempt"),
            "jitter": ("float", "Random fraction taken off each backoff"),
            "max_attempts": ("int?", "Attempts per HTTP call (0 = forever)"),
            "max_retry_after": (
                "float?",
                "Longest wait a server's Retry-After may impose (s); none = retry.maximum",
            ),
        },
    ),
    *_section(
        "datafeed",
        DatafeedConfig,
        {
            "tag": ("str", "Datafeed tag shared by instances (default symbot-<username>)"),
            "read_timeout": ("float", "Datafeed read timeout (s), above the long-poll"),
            "visibility_timeout": ("float", "Agent's re-queue delay (s); slower batches warn"),
            "include_invisible": ("bool", "Include events of invisible streams"),
            "delete_stale_on_403": ("bool", "Delete stale feeds at the feed limit"),
        },
    ),
    *_section(
        "bot",
        BotSettings,
        {
            "concurrency": ("int", "Handlers running at once"),
            "dedupe_cache_size": ("int", "Event ids remembered to drop duplicates"),
            "ignore_own_messages": ("bool", "Skip messages the bot sent"),
            "mention_required_in_rooms": ("bool", "Commands in rooms need an @mention"),
            "stop_timeout": ("float", "Seconds handlers get to finish on stop"),
            "send_rate_per_stream": ("float?", "Max messages/s into one stream"),
        },
    ),
    *_section(
        "limits",
        Limits,
        {"max_answer_bytes": ("int", "Largest answer body read, after decompression (bytes)")},
    ),
    *_section(
        "health",
        HealthConfig,
        {
            "port": ("int?", "Port of /healthz, /readyz and /metrics; none: not served"),
            "host": ("str", "Address they listen on (0.0.0.0: every interface)"),
            "max_read_age": ("float", "Ready only if a datafeed read completed this recently (s)"),
        },
    ),
)
BY_KEY = {k.key: k for k in CONFIG_KEYS}
BY_ENV = {k.env: k for k in CONFIG_KEYS}
