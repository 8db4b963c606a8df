"""Reading a configuration from a TOML file and `SYMBOT_*` environment variables.

`load_file` and `load_env` return the keyword arguments of `BotConfig`, every value read and
checked against its key; `BotConfig.from_file` / `from_env` build it from them. The keys are
`CONFIG_KEYS` (`symbot.config._keys`): an unknown one is refused with a suggestion of the
closest valid one.
"""

from __future__ import annotations

import difflib
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from symbot.config._credentials import AppAuth, CertificateAuth, RsaJwtAuth, is_path_text
from symbot.config._environment import env_value, secret_from_env
from symbot.config._keys import BY_ENV, BY_KEY, ConfigKey
from symbot.config._retry import RetryPolicy
from symbot.config._sections import (
    BotSettings,
    DatafeedConfig,
    HealthConfig,
    Limits,
    Timeouts,
)
from symbot.errors import ConfigError

__all__ = ["load_env", "load_file"]

logger = logging.getLogger("symbot.config")


MAX_FILE_SIZE = 1024 * 1024
"""The largest configuration file symbot reads (bytes): room for inline keys and chains."""


def load_file(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Read a TOML file, then apply `SYMBOT_*` overrides from `env`. Relative paths resolve
    against the file's directory."""
    return build(_flatten(_read_toml(path), ""), path.parent, env)


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's tables. Errors are raised outside the `except` blocks, so that no chained
    exception carries a line of the file (which may hold a secret)."""
    problem, fix = "", "check the file"
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_SIZE + 1)
        if len(raw) > MAX_FILE_SIZE:
            problem, fix = f"is larger than {MAX_FILE_SIZE} bytes", "point at the TOML file"
        else:
            return tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        problem, fix = "file not found", "check the config file path"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or type(exc).__name__})"
    except UnicodeDecodeError as exc:
        problem = f"is not UTF-8 text (byte {exc.start})"
    except tomllib.TOMLDecodeError as exc:
        problem, fix = f"is not valid TOML ({exc})", "fix the syntax"
    except RecursionError:
        problem, fix = "nests arrays or tables too deeply", "fix the file"
    raise ConfigError(str(path), problem, fix)


def _flatten(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and not any(k.startswith(f"{key}.") for k in BY_KEY):
            flat[key] = value  # reported as unknown below
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


def _suggest(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else "see BotConfig.describe() for valid keys"


_EXPECTED = {"bool": "true or false", "float": "a number", "int": "an integer"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _coerce(spec: ConfigKey, value: Any, base_dir: Path, origin: str) -> Any:
    """`value` as the key's kind (relative paths against `base_dir`); a `ConfigError` that
    shows the value only when the key is not secret."""
    kind, optional = spec.kind.rstrip("?"), spec.kind.endswith("?")
    text = isinstance(value, str)
    if optional and (value is None or (text and value.strip().lower() in ("", "none"))):
        return None
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "bool" and text and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    if kind in ("float", "int") and not isinstance(value, bool):
        number = _number(value, integer=kind == "int")
        if number is not None:
            return None if spec.key == "retry.max_attempts" and number == 0 else number
    if kind in ("str", "path", "key") and text:
        if kind == "path" or (kind == "key" and is_path_text(value)):
            path = Path(value).expanduser()
            return path if path.is_absolute() else base_dir / path
        return value  # PEM text, or a value the credentials refuse without showing it
    if spec.secret:  # refused by the checks of the credentials and URLs, which show no value
        return value
    expected = _EXPECTED.get(kind, "a string")
    problem = f"{origin} gives {repr(value)[:80]}, expected {expected}"
    raise ConfigError(spec.key, problem, f"set {spec.key} to {expected}")


def _number(value: Any, *, integer: bool) -> float | None:
    """`value` as a number (from TOML or environment text); an integer only when it is one
    (2.5 is not an integer, 2.0 is); None when it is not a number."""
    try:
        if isinstance(value, str):
            if integer and value.strip().lstrip("+-").isdigit():
                return int(value)
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not integer:
            return float(value)
        if isinstance(value, int):
            return value
        return int(value) if value.is_integer() else None
    except (ValueError, OverflowError):
        return None


def load_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Read the `SYMBOT_*` variables of `env` alone."""
    return build({}, Path.cwd(), env)


def build(file_values: dict[str, Any], base_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in file_values.items():
        spec = BY_KEY.get(key)
        if spec is None:
            raise ConfigError(key, "unknown key", _suggest(key, BY_KEY))
        values[key] = _coerce(spec, value, base_dir, "the file")
    for name in env:
        if not name.startswith("SYMBOT_"):
            continue
        spec = BY_ENV.get(name)
        if spec is None:
            logger.warning(
                "ignoring unknown environment variable %s: %s", name, _suggest(name, BY_ENV)
            )
            continue
        value = env_value(env, name, spec.key)
        values[spec.key] = _coerce(spec, value, Path.cwd(), f"environment variable {name}")
    if "pod_url" not in values:
        raise ConfigError(
            "pod_url", "is required", "set pod_url in the config file or SYMBOT_POD_URL"
        )

    def section(name: str) -> dict[str, Any]:
        prefix = f"{name}."
        return {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}

    top = {k: v for k, v in values.items() if "." not in k}
    app_only = not section("auth") and bool(section("app"))  # an app backend, no bot account
    return {
        **top,
        "auth": None if app_only else _auth_from(section("auth"), env),
        "app": _app_from(section("app"), env),
        "proxies": section("proxies"),
        "timeouts": Timeouts(**section("timeouts")),
        "retry": RetryPolicy(**section("retry")),
        "datafeed": DatafeedConfig(**section("datafeed")),
        "bot": BotSettings(**section("bot")),
        "limits": Limits(**section("limits")),
        "health": HealthConfig(**section("health")),
    }


_RSA_KEYS = {"type", "username", "private_key", "passphrase", "passphrase_env",
             "previous_private_key", "previous_passphrase", "jwt_lifetime"}  # fmt: skip
_CERT_KEYS = {"type", "username", "certificate", "p12", "key", "password", "password_env"}


def _app_from(table: dict[str, Any], env: Mapping[str, str]) -> AppAuth | None:
    if not table:
        return None
    for required in ("app_id", "private_key"):
        if required not in table:
            raise ConfigError(
                f"app.{required}",
                "is required to configure an app",
                f"set app.{required} (or SYMBOT_APP_{required.upper()}), or remove [app]",
            )
    return AppAuth(**_with_secret(table, "passphrase", env, section="app"))


def _auth_from(table: dict[str, Any], env: Mapping[str, str]) -> RsaJwtAuth | CertificateAuth:
    kind = table.get("type")
    has_certificate = "certificate" in table or "p12" in table
    if kind is None and has_certificate and "private_key" in table:
        raise ConfigError(
            "auth.type",
            "auth has both an RSA private_key and a client certificate",
            'set auth.type = "rsa" or "certificate" and remove the other settings',
        )
    if kind is None:
        kind = "certificate" if has_certificate else "rsa"
    if kind not in ("rsa", "certificate"):
        raise ConfigError("auth.type", f"unknown type {kind!r}", 'use "rsa" or "certificate"')
    allowed = _RSA_KEYS if kind == "rsa" else _CERT_KEYS
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"auth.{key}",
                f"does not apply to auth.type = {kind!r}",
                "remove it or fix auth.type",
            )
    if kind == "rsa":
        for required in ("username", "private_key"):
            if required not in table:
                raise ConfigError(
                    f"auth.{required}",
                    "is required for RSA authentication",
                    f"set auth.{required} (or SYMBOT_AUTH_{required.upper()}); for certificate "
                    'login set auth.type = "certificate"',
                )
        options = {k: v for k, v in table.items() if k != "type"}
        return RsaJwtAuth(**_with_secret(options, "passphrase", env))
    if ("certificate" in table) == ("p12" in table):
        raise ConfigError(
            "auth.certificate", "give exactly one of auth.certificate and auth.p12", "keep one"
        )
    options = {k: v for k, v in table.items() if k not in ("type", "p12")}
    options["certificate"] = table.get("certificate", table.get("p12"))
    return CertificateAuth(**_with_secret(options, "password", env))


def _with_secret(
    options: dict[str, Any], secret: str, env: Mapping[str, str], *, section: str = "auth"
) -> dict[str, Any]:
    """`options` with `secret` read from the variable `<secret>_env` names, in `env` (the
    mapping the rest of the configuration comes from), unless it is given."""
    name = options.get(f"{secret}_env")
    if name is None or options.get(secret) is not None:
        return options
    return {**options, secret: secret_from_env(name, f"{section}.{secret}_env", env)}
