"""Descriptions of a bot's credentials: what to log in with, not how.

`RsaJwtAuth` and `CertificateAuth` name the key or certificate (a path, or the PEM text
itself), the username and the passphrase; `AppAuth` does the same for an application (on
behalf of users, extension apps). They are plain values, validated when built. Reading the
files and logging in is `symbot.auth`'s job (`symbot.auth.provider_for`, `symbot.apps`).

A key or certificate source is a `Path`, a `str` or `bytes`. A `str` that starts with
`-----BEGIN` (after leading whitespace) is PEM text, never a path: container platforms hand
secrets over as environment variables, and such a value must never be mistaken for a file
name (which would put the key into error messages).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attrs import field, frozen

from symbot.errors import ConfigError

__all__ = [
    "MAX_JWT_LIFETIME",
    "AppAuth",
    "CertificateAuth",
    "Credentials",
    "KeySource",
    "RsaJwtAuth",
    "describe_source",
    "is_pem_text",
]

KeySource = Path | str | bytes
"""Where a key or certificate comes from: a file path, or PEM text (str or bytes)."""

MAX_JWT_LIFETIME = 300.0
"""Symphony refuses login JWTs valid for more than this many seconds."""

_PEM_HEADER = "-----BEGIN"


def is_pem_text(source: object) -> bool:
    """True when `source` is key or certificate material itself rather than a path."""
    if isinstance(source, bytes):
        return True
    return isinstance(source, str) and source.lstrip().startswith(_PEM_HEADER)


def describe_source(source: KeySource, field_name: str = "private key") -> str:
    """How to name `source` in messages: its path, or where the PEM text came from."""
    if is_pem_text(source):
        return f"PEM text given in {field_name}"
    return str(source)


def _key_repr(value: KeySource | None) -> str:
    return "None" if value is None else repr(describe_source(value, "the config"))


def _check_username(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("auth.username", "must be a non-empty string", "set the bot's username")


def _check_lifetime(_instance: Any, _attribute: Any, value: float) -> None:
    if not 0 < value <= MAX_JWT_LIFETIME:
        raise ConfigError(
            "auth.jwt_lifetime",
            f"must be in (0, {MAX_JWT_LIFETIME:g}] seconds, got {value!r}",
            "use 240 (Symphony refuses login JWTs valid for more than 300 s)",
        )


def _path(value: Any) -> Any:
    return Path(value) if isinstance(value, str) and not is_pem_text(value) else value


@frozen(kw_only=True)
class RsaJwtAuth:
    """RSA credentials: a username and a private key (path, PEM text or PEM bytes).

    `passphrase` (or the name of an environment variable, `passphrase_env`) decrypts an
    encrypted key; `previous_private_key` is tried once if the current key is refused.
    """

    username: str = field(validator=_check_username)
    private_key: KeySource = field(repr=_key_repr)
    passphrase: str | None = field(default=None, repr=False)
    passphrase_env: str | None = None
    previous_private_key: KeySource | None = field(default=None, repr=_key_repr)
    previous_passphrase: str | None = field(default=None, repr=False)
    jwt_lifetime: float = field(default=240.0, validator=_check_lifetime)


@frozen(kw_only=True)
class CertificateAuth:
    """Client-certificate credentials.

    `certificate` is a PEM file (certificate, optional chain, and the key unless `key` is
    given) or a PKCS#12 bundle (`.p12`/`.pfx`). `password` opens the bundle or decrypts the
    PEM key; `password_env` names an environment variable holding it. `username` defaults
    to the certificate's CN and is used in messages.
    """

    certificate: Path = field(converter=_path, repr=_key_repr)
    key: KeySource | None = field(default=None, converter=_path, repr=_key_repr)
    password: str | None = field(default=None, repr=False)
    password_env: str | None = None
    username: str | None = None


def _check_app_id(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("app.app_id", "must be a non-empty string", "set the app's id")


def _check_cache_size(_instance: Any, _attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            "app.obo_cache_size", f"must be an integer >= 1, got {value!r}", "use e.g. 1000"
        )


@frozen(kw_only=True)
class AppAuth:
    """An application's RSA credentials (on-behalf-of, extension-app authentication): its
    app id and private key (path, PEM text or PEM bytes), decrypted with `passphrase` (or the
    environment variable `passphrase_env`). The certificate variants are deprecated by
    Symphony and not offered.

    `obo_cache_size` bounds how many users' on-behalf-of sessions are kept (the least
    recently used is dropped); `check_username` names a user the app may act for, so that
    `symbot check` can try an on-behalf-of login too.
    """

    app_id: str = field(validator=_check_app_id)
    private_key: KeySource = field(repr=_key_repr)
    passphrase: str | None = field(default=None, repr=False)
    passphrase_env: str | None = None
    jwt_lifetime: float = field(default=240.0, validator=_check_lifetime)
    obo_cache_size: int = field(default=1000, validator=_check_cache_size)
    check_username: str | None = None


Credentials = RsaJwtAuth | CertificateAuth
"""The credentials a configuration can describe; `symbot.auth.provider_for` logs in with them."""
