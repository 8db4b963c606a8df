"""BotConfig: everything a bot needs to know, from Python, a TOML file or the environment.

Every value is validated once, at load time; a `ConfigError` names the field
(`auth.private_key`) and the fix. Reading TOML files and `SYMBOT_*` variables is
`symbot.config._loading`'s job; `CONFIG_KEYS` (`symbot.config._keys`) lists every key with
its default and its environment variable; `BotConfig.describe()` renders that list.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import Factory, field, frozen

from symbot.config._checks import Check, boolean, fraction, seconds
from symbot.config._credentials import AppAuth, CertificateAuth, Credentials, RsaJwtAuth
from symbot.config._keys import describe
from symbot.config._loading import load_env, load_file
from symbot.config._retry import RetryPolicy
from symbot.config._sections import (
    MAX_TAG_LENGTH,
    ROLES,
    BotSettings,
    DatafeedConfig,
    HealthConfig,
    Limits,
    Role,
    Timeouts,
)
from symbot.config._urls import check_proxy_url, check_role_url
from symbot.errors import ConfigError, redact

__all__ = ["BotConfig"]

MAX_CA_BUNDLE_SIZE = 16 * 1024 * 1024
"""The largest CA bundle symbot reads (bytes); a system bundle is about 250 KB."""


def _normalise_url(value: Any) -> Any:
    return value.rstrip("/") if isinstance(value, str) else value


def _check_url(name: str) -> Check:
    def check(instance: Any, _attribute: Any, value: Any) -> None:
        check_role_url(name, value, allow_insecure_http=instance.allow_insecure_http is True)

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


def _check_ca_bundle(_instance: Any, _attribute: Any, value: Any) -> None:
    """A readable PEM file of certificates, so that a wrong path or file fails here and not
    at the first connection."""
    if value is None:
        return
    if not isinstance(value, Path):
        raise ConfigError(
            "ca_bundle", f"expected a path, got {type(value).__name__}", "give the file's path"
        )
    problem = ""
    try:
        with value.open("rb") as bundle:
            head = bundle.read(MAX_CA_BUNDLE_SIZE + 1)
    except IsADirectoryError:
        problem = "is a directory, not a file"
    except OSError as exc:
        problem = (
            "is not a file" if exc.errno == errno.ENOENT else f"cannot be read ({exc.strerror})"
        )
    else:
        if len(head) > MAX_CA_BUNDLE_SIZE:
            problem = f"is larger than {MAX_CA_BUNDLE_SIZE} bytes"
        elif b"-----BEGIN CERTIFICATE-----" not in head and b"-----BEGIN TRUSTED" not in head:
            problem = "holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)"
    if problem:
        raise ConfigError(
            "ca_bundle", f"{value} {problem}", "point it at a PEM file of CA certificates"
        )


def _check_proxy(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is not None:
        check_proxy_url("proxy", value)


def _check_proxies(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError("proxies", "expected a table of role = URL", "see the docs")
    for role, url in value.items():
        if role not in ROLES:
            raise ConfigError(f"proxies.{role}", "unknown role", f"use one of {', '.join(ROLES)}")
        check_proxy_url(f"proxies.{role}", url)


def _section(name: str, cls: type) -> Check:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not isinstance(value, cls):
            raise ConfigError(
                name,
                f"expected {cls.__name__}, got {type(value).__name__}",
                f"use {cls.__name__}(...)",
            )

    return check


def _check_datafeed(instance: Any, attribute: Any, value: Any) -> None:
    """A `DatafeedConfig`; without a tag, the default `symbot-<username>` must fit the
    agent's limit."""
    _section("datafeed", DatafeedConfig)(instance, attribute, value)
    username = getattr(instance.auth, "username", None)
    if value.tag is None and username is not None:
        tag = value.tag_for(username)
        if len(tag) > MAX_TAG_LENGTH:
            raise ConfigError(
                "datafeed.tag",
                f"the default tag symbot-<username> is {len(tag)} characters long; the agent "
                f"accepts at most {MAX_TAG_LENGTH}",
                "set datafeed.tag",
            )


def _check_health(instance: Any, attribute: Any, value: Any) -> None:
    """A `HealthConfig` whose `max_read_age` leaves an idle feed time for one long-poll."""
    _section("health", HealthConfig)(instance, attribute, value)
    read_timeout = instance.datafeed.read_timeout
    if value.max_read_age <= read_timeout:
        raise ConfigError(
            "health.max_read_age",
            f"is {value.max_read_age:g} s, not above datafeed.read_timeout ({read_timeout:g} s): "
            "an idle datafeed completes a read only once per long-poll, so the bot would "
            "turn unready while nothing is wrong",
            f"set it above {read_timeout:g} (the default is 120)",
        )


def _proxy_repr(value: str | None) -> str:
    return repr(None if value is None else redact(value))


def _proxies_repr(value: Mapping[str, str]) -> str:
    return repr({role: redact(url) for role, url in value.items()})


def _check_app(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, AppAuth):
        raise ConfigError(
            "app", f"{type(value).__name__} is not an app's credentials", "use AppAuth(...)"
        )


@frozen(kw_only=True)
class BotConfig:
    """A bot's configuration. Role URLs default to `pod_url`; `proxies` overrides `proxy`
    per role.

    Tokens are used until a 401, as Symphony advises; `max_token_age` (seconds) renews them
    ahead of an age known from the pod's session policy. `relogin_give_up_after` (seconds)
    ends a bot whose re-logins keep failing after its credentials worked (a maintenance
    window is ridden out until then; None: never give up).

    `auth` describes the credentials (`RsaJwtAuth` or `CertificateAuth`); it may be None
    only when the bot or client is given its own `AuthProvider` (`provider=`), or when only
    an app (`app`: `AppAuth`, for `symbot.apps.App` and `Bot.obo`) is configured."""

    pod_url: str = field(converter=_normalise_url, validator=_check_url("pod_url"))
    allow_insecure_http: bool = field(default=False, validator=boolean("allow_insecure_http"))
    auth: Credentials | None = field(default=None, validator=_check_auth)
    agent_url: str = _role_url("agent_url")
    key_manager_url: str = _role_url("key_manager_url")
    session_auth_url: str = _role_url("session_auth_url")
    ca_bundle: Path | None = field(
        default=None, converter=_optional_path, validator=_check_ca_bundle
    )
    proxy: str | None = field(default=None, validator=_check_proxy, repr=_proxy_repr)
    proxies: Mapping[str, str] = field(factory=dict, validator=_check_proxies, repr=_proxies_repr)
    timeouts: Timeouts = field(factory=Timeouts, validator=_section("timeouts", Timeouts))
    retry: RetryPolicy = field(factory=RetryPolicy, validator=_section("retry", RetryPolicy))
    max_token_age: float | None = field(default=None, validator=seconds("max_token_age"))
    relogin_give_up_after: float | None = field(
        default=None, validator=seconds("relogin_give_up_after")
    )
    app: AppAuth | None = field(default=None, validator=_check_app)
    refresh_margin: float = field(default=60.0, validator=seconds("refresh_margin", zero=True))
    refresh_jitter: float = field(default=0.1, validator=fraction("refresh_jitter", "0.1"))
    datafeed: DatafeedConfig = field(factory=DatafeedConfig, validator=_check_datafeed)
    bot: BotSettings = field(factory=BotSettings, validator=_section("bot", BotSettings))
    limits: Limits = field(factory=Limits, validator=_section("limits", Limits))
    health: HealthConfig = field(factory=HealthConfig, validator=_check_health)

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
