"""The one way symbot reads environment variables.

Both kinds of lookup go through here: the `SYMBOT_*` overrides of configuration keys, and
the variables that `auth.passphrase_env` / `auth.password_env` name. The rules are the
same for both: a value is bounded (`MAX_ENV_VALUE` characters, room for a PEM chain and its
key many times over), and an error names the variable and the key, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from symbot.errors import ConfigError

__all__ = ["MAX_ENV_VALUE", "check_variable_name", "env_value", "secret_from_env"]

MAX_ENV_VALUE = 64 * 1024
"""The most characters symbot reads from one environment variable."""


def env_value(env: Mapping[str, str], name: str, key: str) -> str | None:
    """The value of variable `name` in `env` (None when unset) for configuration key `key`."""
    value = env.get(name)
    if value is not None and len(value) > MAX_ENV_VALUE:
        raise ConfigError(
            key,
            f"environment variable {name} holds {len(value)} characters, more than the "
            f"{MAX_ENV_VALUE} symbot reads",
            f"check what sets {name}: it should hold a path, a key or a short secret",
        )
    return value


def check_variable_name(key: str, name: object) -> str:
    """`name` if it can name an environment variable, else a `ConfigError` for `key`."""
    if not isinstance(name, str) or not name or "=" in name or "\0" in name:
        raise ConfigError(
            key,
            "must be the name of an environment variable",
            f"write e.g. {key.rpartition('.')[2].removesuffix('_env').upper()}_SECRET",
        )
    return name


def secret_from_env(name: str, key: str, env: Mapping[str, str] | None = None) -> str:
    """The secret in the variable `name` that configuration key `key` (`auth.passphrase_env`)
    names, from `env` (default: `os.environ`). Unset or empty is a `ConfigError` naming the
    variable: a secret that did not reach the process is a deployment mistake."""
    check_variable_name(key, name)
    value = env_value(os.environ if env is None else env, name, key)
    secret_key = key.removesuffix("_env")
    if value is None:
        raise ConfigError(
            key, f"environment variable {name} is not set", f"export {name}, or set {secret_key}"
        )
    if not value:
        raise ConfigError(key, f"environment variable {name} is empty", f"put the secret in {name}")
    return value
