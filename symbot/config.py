"""BotConfig: everything a bot needs to know, from Python, a TOML file or the environment.

Every value is validated once, at load time; a `ConfigError` names the field
(`auth.private_key`) and the fix. Reading TOML files and `SYMBOT_*` variables is
`symbot.config_file`'s job, where `CONFIG_KEYS` lists every key with its default and its
environment variable; `BotConfig.describe()` renders that list.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
from attrs import Factory, field, frozen

from symbot.errors import ConfigError
from symbot.retry import RetryPolicy

__all__ = [
    "ROLES",
    "BotConfig",
    "BotSettings",
    "DatafeedConfig",
    "RetryPolicy",
    "Role",
    "Timeouts",
]

logger = logging.getLogger(__name__)

Role = Literal["pod", "agent", "key_manager", "session_auth"]
ROLES: tuple[Role, ...] = ("pod", "agent", "key_manager", "session_auth")


def _at_least(name: str, minimum: float, *, strict: bool = True) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(name, f"expected a number, got {value!r}", "write a number")
        if value < minimum or (strict and value == minimum):
            bound = f"> {minimum}" if strict else f">= {minimum}"
            raise ConfigError(name, f"must be {bound}, got {value!r}", f"use a value {bound}")

    return check


@frozen(kw_only=True)
class Timeouts:
    """Seconds. `connect` for every role; the others are each role's read timeout. The agent's
    must exceed the datafeed long-poll (~30 s)."""

    connect: float = field(default=10.0, validator=_at_least("timeouts.connect", 0))
    pod: float = field(default=30.0, validator=_at_least("timeouts.pod", 0))
    agent: float = field(default=45.0, validator=_at_least("timeouts.agent", 0))
    key_manager: float = field(default=30.0, validator=_at_least("timeouts.key_manager", 0))
    session_auth: float = field(default=30.0, validator=_at_least("timeouts.session_auth", 0))

    def for_role(self, role: Role) -> httpx.Timeout:
        read: float = getattr(self, role)
        return httpx.Timeout(read, connect=self.connect)


@frozen(kw_only=True)
class DatafeedConfig:
    """The datafeed loop's settings. `tag` defaults to `symbot-<username>` (`tag_for`).

    `visibility_timeout` is the agent's delay (s) before it re-queues a batch that was not
    acknowledged; set it to your agent's. A batch whose handlers take longer is logged as a
    warning and counted in `Bot.stats.slow_batches`, since another instance may get it again."""

    tag: str | None = None
    read_timeout: float = field(default=45.0, validator=_at_least("datafeed.read_timeout", 0))
    visibility_timeout: float = field(
        default=30.0, validator=_at_least("datafeed.visibility_timeout", 0)
    )
    include_invisible: bool = False
    delete_stale_on_403: bool = True

    def tag_for(self, username: str) -> str:
        return self.tag or f"symbot-{username}"


@frozen(kw_only=True)
class BotSettings:
    """How the bot dispatches events and sends messages."""

    concurrency: int = field(default=64, validator=_at_least("bot.concurrency", 1, strict=False))
    dedupe_cache_size: int = field(
        default=10_000, validator=_at_least("bot.dedupe_cache_size", 0, strict=False)
    )
    ignore_own_messages: bool = True
    mention_required_in_rooms: bool = True
    stop_timeout: float = field(
        default=10.0, validator=_at_least("bot.stop_timeout", 0, strict=False)
    )
    send_rate_per_stream: float | None = field(
        default=None, validator=_at_least("bot.send_rate_per_stream", 0)
    )


def _normalise_url(value: Any) -> Any:
    return value.rstrip("/") if isinstance(value, str) else value


def _check_url(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise ConfigError(
                name,
                f"{value!r} is not an http(s) URL",
                f"set {name} to a base URL such as https://acme.symphony.com",
            )
        if not httpx.URL(value).host:
            raise ConfigError(
                name, f"{value!r} has no host", f"set {name} to e.g. https://host:443"
            )

    return check


def _role_url(name: str) -> Any:
    """A role's base URL, defaulting to the pod's."""
    return field(
        default=Factory(lambda self: self.pod_url, takes_self=True),
        converter=_normalise_url,
        validator=_check_url(name),
    )


def _check_auth(_instance: Any, _attribute: Any, value: Any) -> None:
    if not hasattr(value, "bind") and not hasattr(value, "login"):
        raise ConfigError(
            "auth",
            f"{type(value).__name__} is neither credentials (with bind) nor an AuthProvider",
            "use RsaJwtAuth(...), CertificateAuth(...) or an object with `async def login()`",
        )


def _optional_path(value: Any) -> Any:
    return Path(value) if isinstance(value, str) else value


def _check_ca_bundle(_instance: Any, _attribute: Any, value: Path | None) -> None:
    if value is not None and not value.is_file():
        raise ConfigError("ca_bundle", f"{value} is not a file", "point it at a PEM CA bundle")


def _check_proxies(_instance: Any, _attribute: Any, value: Mapping[str, str]) -> None:
    for role in value:
        if role not in ROLES:
            raise ConfigError(f"proxies.{role}", "unknown role", f"use one of {', '.join(ROLES)}")


@frozen(kw_only=True)
class BotConfig:
    """A bot's configuration. Role URLs default to `pod_url`; `proxies` overrides `proxy`
    per role. `max_token_age` renews tokens proactively when the pod gives no expiry."""

    pod_url: str = field(converter=_normalise_url, validator=_check_url("pod_url"))
    auth: Any = field(validator=_check_auth)
    agent_url: str = _role_url("agent_url")
    key_manager_url: str = _role_url("key_manager_url")
    session_auth_url: str = _role_url("session_auth_url")
    ca_bundle: Path | None = field(
        default=None, converter=_optional_path, validator=_check_ca_bundle
    )
    proxy: str | None = None
    proxies: Mapping[str, str] = field(factory=dict, validator=_check_proxies)
    timeouts: Timeouts = field(factory=Timeouts)
    retry: RetryPolicy = field(factory=RetryPolicy)
    max_token_age: float | None = field(default=None, validator=_at_least("max_token_age", 0))
    refresh_margin: float = field(
        default=60.0, validator=_at_least("refresh_margin", 0, strict=False)
    )
    refresh_jitter: float = field(
        default=0.1, validator=_at_least("refresh_jitter", 0, strict=False)
    )
    datafeed: DatafeedConfig = field(factory=DatafeedConfig)
    bot: BotSettings = field(factory=BotSettings)

    def url(self, role: Role) -> str:
        """The base URL of `role`."""
        url: str = getattr(self, f"{role}_url")
        return url

    def proxy_for(self, role: Role) -> str | None:
        return self.proxies.get(role, self.proxy)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
    ) -> BotConfig:
        """Load a TOML file, then apply `SYMBOT_*` overrides from `env` (default: os.environ).
        Relative paths resolve against the file's directory."""
        from symbot.config_file import load_file

        return load_file(Path(path), os.environ if env is None else env)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotConfig:
        """Build the configuration from `SYMBOT_*` variables only."""
        from symbot.config_file import build

        return build({}, Path.cwd(), os.environ if env is None else env)

    @staticmethod
    def describe() -> str:
        """A Markdown table of every key: default, environment variable, meaning."""
        from symbot.config_file import describe

        return describe()
