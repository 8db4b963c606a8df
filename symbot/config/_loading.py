"""Reading a configuration from a TOML file and `SYMBOT_*` environment variables.

`load_file` and `load_env` return the keyword arguments of `BotConfig`, every value read and
checked against its key; `BotConfig.from_file` / `from_env` build it from them.

`CONFIG_KEYS` is the one list of keys: it drives loading, validation of unknown keys (with a
suggestion of the closest valid one), the environment variable names and the documentation.
"""

from __future__ import annotations

import difflib
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import fields, frozen

from symbot.config._credentials import CertificateAuth, RsaJwtAuth
from symbot.config._retry import RetryPolicy
from symbot.config._sections import ROLES, BotSettings, DatafeedConfig, Limits, Timeouts
from symbot.errors import ConfigError

__all__ = ["CONFIG_KEYS", "ConfigKey", "describe", "load_env", "load_file"]

logger = logging.getLogger("symbot.config")


def load_file(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Read a TOML file, then apply `SYMBOT_*` overrides from `env`. Relative paths resolve
    against the file's directory."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found", "check the config file path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read ({exc})", "check the file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML ({exc})", "fix the syntax") from None
    return build(_flatten(data, ""), path.parent, env)


def describe() -> str:
    """A Markdown table of every key: default, environment variable, meaning."""
    rows = ["| key | default | environment variable | description |", "|---|---|---|---|"]
    rows += [f"| `{k.key}` | {k.default} | `{k.env}` | {k.description} |" for k in CONFIG_KEYS]
    return "\n".join(rows)


@frozen
class ConfigKey:
    """One configuration key, for loading and for documentation."""

    key: str
    kind: str  # str, path, float, int, bool, float?, int?
    default: str
    description: str

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
        "ca_bundle", "path", "system/certifi", "PEM file of CAs to trust instead of the default"
    ),
    ConfigKey("proxy", "str", "none", "HTTP(S) proxy URL for every role"),
    *(ConfigKey(f"proxies.{r}", "str", "proxy", f"Proxy URL for the {r} role only") for r in ROLES),
    ConfigKey(
        "max_token_age", "float?", "none", "Renew tokens after this many seconds (no expiry known)"
    ),
    ConfigKey("refresh_margin", "float", "60", "Renew this many seconds before expiry"),
    ConfigKey(
        "refresh_jitter", "float", "0.1", "Random fraction taken off the wait before a renewal"
    ),
    ConfigKey("auth.type", "str", "from keys", '"rsa" or "certificate"'),
    ConfigKey("auth.username", "str", "(rsa: required)", "The bot's service account username"),
    ConfigKey("auth.private_key", "path", "none", "RSA private key (PEM, PKCS#1/#8)"),
    ConfigKey("auth.passphrase", "str", "none", "Passphrase of an encrypted private key"),
    ConfigKey("auth.passphrase_env", "str", "none", "Environment variable holding the passphrase"),
    ConfigKey(
        "auth.previous_private_key", "path", "none", "Previous key, tried if the current is refused"
    ),
    ConfigKey(
        "auth.previous_passphrase", "str", "auth.passphrase", "Passphrase of the previous key"
    ),
    ConfigKey("auth.jwt_lifetime", "float", "240", "Login JWT lifetime in seconds (at most 300)"),
    ConfigKey("auth.certificate", "path", "none", "Client certificate: PEM (cert [+ key]) or .p12"),
    ConfigKey("auth.p12", "path", "none", "Client certificate as a PKCS#12 bundle"),
    ConfigKey("auth.key", "path", "in certificate", "Private key of a PEM client certificate"),
    ConfigKey("auth.password", "str", "none", "Password of the .p12 or of an encrypted PEM key"),
    ConfigKey("auth.password_env", "str", "none", "Environment variable holding auth.password"),
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
)
_BY_KEY = {k.key: k for k in CONFIG_KEYS}
_BY_ENV = {k.env: k for k in CONFIG_KEYS}


def _flatten(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and not any(k.startswith(f"{key}.") for k in _BY_KEY):
            flat[key] = value  # reported as unknown below
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


def _suggest(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else "see BotConfig.describe() for valid keys"


def _coerce(spec: ConfigKey, value: Any, base_dir: Path, origin: str) -> Any:
    kind, optional = spec.kind.rstrip("?"), spec.kind.endswith("?")
    text = isinstance(value, str)
    try:
        if optional and (value is None or (text and value.strip().lower() in ("", "none"))):
            return None
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if text and value.strip().lower() in (
                "1",
                "true",
                "yes",
                "on",
                "0",
                "false",
                "no",
                "off",
            ):
                return value.strip().lower() in ("1", "true", "yes", "on")
            raise ValueError
        if kind in ("float", "int"):
            if isinstance(value, bool):
                raise ValueError
            number = float(value) if kind == "float" else int(value)
            return None if spec.key == "retry.max_attempts" and number == 0 else number
        if not text:
            raise ValueError
        if kind == "path":
            path = Path(value).expanduser()
            return path if path.is_absolute() else base_dir / path
        return value
    except (TypeError, ValueError):
        expected = {"bool": "true or false", "float": "a number", "int": "an integer"}
        raise ConfigError(
            spec.key,
            f"{origin} gives {value!r}, expected {expected.get(kind, 'a string')}",
            f"set {spec.key} to {expected.get(kind, 'a string')}",
        ) from None


def load_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Read the `SYMBOT_*` variables of `env` alone."""
    return build({}, Path.cwd(), env)


def build(file_values: dict[str, Any], base_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in file_values.items():
        spec = _BY_KEY.get(key)
        if spec is None:
            raise ConfigError(key, "unknown key", _suggest(key, _BY_KEY))
        values[key] = _coerce(spec, value, base_dir, "the file")
    for name, value in env.items():
        if not name.startswith("SYMBOT_"):
            continue
        spec = _BY_ENV.get(name)
        if spec is None:
            logger.warning(
                "ignoring unknown environment variable %s: %s", name, _suggest(name, _BY_ENV)
            )
            continue
        values[spec.key] = _coerce(spec, value, Path.cwd(), f"environment variable {name}")
    if "pod_url" not in values:
        raise ConfigError(
            "pod_url", "is required", "set pod_url in the config file or SYMBOT_POD_URL"
        )

    def section(name: str) -> dict[str, Any]:
        prefix = f"{name}."
        return {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}

    top = {k: v for k, v in values.items() if "." not in k}
    return {
        **top,
        "auth": _auth_from(section("auth")),
        "proxies": section("proxies"),
        "timeouts": Timeouts(**section("timeouts")),
        "retry": RetryPolicy(**section("retry")),
        "datafeed": DatafeedConfig(**section("datafeed")),
        "bot": BotSettings(**section("bot")),
        "limits": Limits(**section("limits")),
    }


_RSA_KEYS = {"type", "username", "private_key", "passphrase", "passphrase_env",
             "previous_private_key", "previous_passphrase", "jwt_lifetime"}  # fmt: skip
_CERT_KEYS = {"type", "username", "certificate", "p12", "key", "password", "password_env"}


def _auth_from(table: dict[str, Any]) -> RsaJwtAuth | CertificateAuth:
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
        return RsaJwtAuth(**options)
    if ("certificate" in table) == ("p12" in table):
        raise ConfigError(
            "auth.certificate", "give exactly one of auth.certificate and auth.p12", "keep one"
        )
    options = {k: v for k, v in table.items() if k not in ("type", "p12")}
    options["certificate"] = table.get("certificate", table.get("p12"))
    return CertificateAuth(**options)
