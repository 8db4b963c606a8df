"""BotConfig: everything a bot needs to know, from Python, a TOML file or the environment.

Every value is validated once, at load time; a `ConfigError` names the field
(`auth.private_key`) and the fix. Reading TOML files and `SYMBOT_*` variables is
`symbot.config._loading`'s job, where `CONFIG_KEYS` lists every key with its default and its
environment variable; `BotConfig.describe()` renders that list.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from attrs import Factory, field, frozen

from symbot.config._credentials import CertificateAuth, Credentials, RsaJwtAuth
from symbot.config._loading import describe, load_env, load_file
from symbot.config._retry import RetryPolicy
from symbot.config._sections import (
    ROLES,
    BotSettings,
    DatafeedConfig,
    Limits,
    Role,
    Timeouts,
    at_least,
)
from symbot.errors import ConfigError

__all__ = ["BotConfig"]

logger = logging.getLogger("symbot.config")


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
    if value is not None and not isinstance(value, RsaJwtAuth | CertificateAuth):
        raise ConfigError(
            "auth",
            f"{type(value).__name__} is not a description of credentials",
            "use RsaJwtAuth(...) or CertificateAuth(...); to plug in your own AuthProvider, "
            "pass it as Bot(config, provider=...) or SymphonyClient(config, provider=...)",
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
    per role. `max_token_age` renews tokens proactively when the pod gives no expiry.

    `auth` describes the credentials (`RsaJwtAuth` or `CertificateAuth`); it may be None
    only when the bot or client is given its own `AuthProvider` (`provider=`)."""

    pod_url: str = field(converter=_normalise_url, validator=_check_url("pod_url"))
    auth: Credentials | None = field(default=None, validator=_check_auth)
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
    max_token_age: float | None = field(default=None, validator=at_least("max_token_age", 0))
    refresh_margin: float = field(
        default=60.0, validator=at_least("refresh_margin", 0, strict=False)
    )
    refresh_jitter: float = field(
        default=0.1, validator=at_least("refresh_jitter", 0, strict=False)
    )
    datafeed: DatafeedConfig = field(factory=DatafeedConfig)
    bot: BotSettings = field(factory=BotSettings)
    limits: Limits = field(factory=Limits)

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
        return cls(**load_file(Path(path), os.environ if env is None else env))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotConfig:
        """Build the configuration from `SYMBOT_*` variables only."""
        return cls(**load_env(os.environ if env is None else env))

    @staticmethod
    def describe() -> str:
        """A Markdown table of every key: default, environment variable, meaning."""
        return describe()
