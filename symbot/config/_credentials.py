"""Descriptions of a bot's credentials: what to log in with, not how.

`RsaJwtAuth` and `CertificateAuth` name the key or certificate (a path, or the PEM text
itself), the username and the passphrase; they are plain values, validated when built.
Reading the files and logging in is `symbot.auth`'s job (`symbot.auth.provider_for`).

A key or certificate source is a `Path`, a `str` or `bytes`. A `str` that holds a
`-----BEGIN` line is PEM text, never a path: container platforms hand secrets over as
environment variables, and such a value must never be mistaken for a file name (which would
put the key into error messages). Its line breaks may be written `\\n` (some platforms
flatten a variable to one line). Any other `str` must look like a file path; a value that
cannot be one (a line break, a name longer than any file system allows) is refused without
being echoed, since it is most likely key material without its PEM header.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from attrs import Factory, field, frozen

from symbot.config._checks import Check, at_least
from symbot.config._environment import check_variable_name, secret_from_env
from symbot.errors import ConfigError

__all__ = [
    "MAX_JWT_LIFETIME",
    "CertificateAuth",
    "Credentials",
    "KeySource",
    "RsaJwtAuth",
    "describe_source",
    "is_path_text",
    "is_pem_text",
]

KeySource = Path | str | bytes
"""Where a key or certificate comes from: a file path, or PEM text (str or bytes)."""

MAX_JWT_LIFETIME = 300.0
"""Symphony refuses login JWTs valid for more than this many seconds."""

_PEM_HEADER = "-----BEGIN"
_MAX_PATH = 4096  # PATH_MAX on Linux
_MAX_NAME = 255  # NAME_MAX: the longest file or directory name
_MIN_BASE64_KEY = 128  # an EC P-256 key in base64 DER is about 190 characters
_BASE64 = re.compile(r"[A-Za-z0-9+/=]+")


def is_pem_text(source: object) -> bool:
    """True when `source` is key or certificate material itself rather than a path:
    `bytes`, or a `str` holding a `-----BEGIN` line."""
    if isinstance(source, bytes):
        return True
    return isinstance(source, str) and _PEM_HEADER in source


def is_path_text(value: str) -> bool:
    """True when `value` can be a file path: not blank, not PEM text, no line break or NUL,
    within the file system's limits on lengths, and not a long run of base64 (key material
    without its PEM lines, which would otherwise be shown as a path in "file not found")."""
    return (
        bool(value.strip())
        and not is_pem_text(value)
        and len(value) <= _MAX_PATH
        and not any(c in value for c in "\r\n\0")
        and all(len(part) <= _MAX_NAME for part in value.replace("\\", "/").split("/"))
        and not (len(value) >= _MIN_BASE64_KEY and _BASE64.fullmatch(value))
    )


def describe_source(source: KeySource, field_name: str = "private key") -> str:
    """How to name `source` in messages: its path, or where the PEM text came from."""
    if is_pem_text(source):
        return f"PEM text given in {field_name}"
    return str(source)


def _key_repr(value: KeySource | None) -> str:
    return "None" if value is None else repr(describe_source(value, "the config"))


def _key_source(value: Any) -> Any:
    """A path string becomes a `Path`; PEM text has `\\n` escapes turned into line breaks."""
    if isinstance(value, str):
        if is_pem_text(value):
            return value.replace("\\n", "\n") if "\n" not in value.strip() else value
        if is_path_text(value):
            return Path(value)
    return value


def _check_source(name: str, *, optional: bool = False) -> Check:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, Path) or (is_pem_text(value) and value.strip()):
            return
        fix = (
            f"set {name} to the path of the file, or to its PEM text (which starts with a "
            "-----BEGIN line)"
        )
        if isinstance(value, str | bytes):  # never echoed: it may be key material
            raise ConfigError(name, "is neither a file path nor PEM text", fix)
        raise ConfigError(name, f"expected a path or PEM text, got {type(value).__name__}", fix)

    return check


def _check_secret(name: str) -> Check:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None and not isinstance(value, str | bytes):
            raise ConfigError(  # the type only: the value is a secret
                name,
                f"expected a string, got {type(value).__name__}",
                f'quote it: {name.rpartition(".")[2]} = "..." (TOML reads bare digits as a number)',
            )

    return check


def _check_variable(name: str) -> Check:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None:
            check_variable_name(name, value)

    return check


def _check_username(name: str, *, optional: bool = False) -> Check:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(name, "must be a non-empty string", "set the bot's username")

    return check


def _check_lifetime(instance: Any, attribute: Any, value: float) -> None:
    at_least("auth.jwt_lifetime", 1, strict=False)(instance, attribute, value)
    if value > MAX_JWT_LIFETIME:
        raise ConfigError(
            "auth.jwt_lifetime",
            f"must be between 1 and {MAX_JWT_LIFETIME:g} seconds, got {value!r}",
            "use 240 (Symphony refuses login JWTs valid for more than 300 s)",
        )


def _from_env(secret: str) -> Any:
    """The default of `secret`: the variable `<secret>_env` names, read now."""

    def read(self: Any) -> str | None:
        name = getattr(self, f"{secret}_env")
        return None if name is None else secret_from_env(name, f"auth.{secret}_env")

    return Factory(read, takes_self=True)


@frozen(kw_only=True)
class RsaJwtAuth:
    """RSA credentials: a username and a private key (path, PEM text or PEM bytes).

    `passphrase` decrypts an encrypted key; `passphrase_env` names the environment variable
    that holds it instead, read when the description is built (a `ConfigError` names the
    variable if it is unset). `previous_private_key` is tried once if the current key is
    refused.
    """

    username: str = field(validator=_check_username("auth.username"))
    private_key: KeySource = field(
        converter=_key_source, validator=_check_source("auth.private_key"), repr=_key_repr
    )
    passphrase_env: str | None = field(
        default=None, validator=_check_variable("auth.passphrase_env")
    )
    passphrase: str | None = field(
        default=_from_env("passphrase"), validator=_check_secret("auth.passphrase"), repr=False
    )
    previous_private_key: KeySource | None = field(
        default=None,
        converter=_key_source,
        validator=_check_source("auth.previous_private_key", optional=True),
        repr=_key_repr,
    )
    previous_passphrase: str | None = field(
        default=None, validator=_check_secret("auth.previous_passphrase"), repr=False
    )
    jwt_lifetime: float = field(default=240.0, validator=_check_lifetime)


@frozen(kw_only=True)
class CertificateAuth:
    """Client-certificate credentials.

    `certificate` is a PEM file or text (certificate, optional chain, and the key unless
    `key` is given) or a PKCS#12 bundle (`.p12`/`.pfx`). `password` opens the bundle or
    decrypts the PEM key; `password_env` names an environment variable holding it, read when
    the description is built. `username` defaults to the certificate's CN and is used in
    messages.
    """

    certificate: KeySource = field(
        converter=_key_source, validator=_check_source("auth.certificate"), repr=_key_repr
    )
    key: KeySource | None = field(
        default=None,
        converter=_key_source,
        validator=_check_source("auth.key", optional=True),
        repr=_key_repr,
    )
    password_env: str | None = field(default=None, validator=_check_variable("auth.password_env"))
    password: str | None = field(
        default=_from_env("password"), validator=_check_secret("auth.password"), repr=False
    )
    username: str | None = field(
        default=None, validator=_check_username("auth.username", optional=True)
    )


Credentials = RsaJwtAuth | CertificateAuth
"""The credentials a configuration can describe; `symbot.auth.provider_for` logs in with them."""
