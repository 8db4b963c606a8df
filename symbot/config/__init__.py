"""A bot's configuration: what it connects to and with which credentials, as plain values.

`BotConfig` and its sections are frozen attrs classes, validated once when built, from
Python, a TOML file (`BotConfig.from_file`) or `SYMBOT_*` environment variables;
`CONFIG_KEYS` is the one list of keys (loading, environment names, documentation). The
credentials (`RsaJwtAuth`, `CertificateAuth`, and an app's `AppAuth`) are descriptions:
`symbot.auth` reads the keys and logs in with them.

May import: `symbot.errors`.
"""

from symbot.config._credentials import (
    MAX_JWT_LIFETIME,
    AppAuth,
    CertificateAuth,
    Credentials,
    KeySource,
    RsaJwtAuth,
    describe_source,
    is_pem_text,
)
from symbot.config._keys import CONFIG_KEYS, ConfigKey
from symbot.config._model import BotConfig
from symbot.config._retry import RetryPolicy
from symbot.config._sections import (
    DEFAULT_MAX_ANSWER_BYTES,
    ROLES,
    BotSettings,
    DatafeedConfig,
    HealthConfig,
    Limits,
    Role,
    Timeouts,
)
from symbot.config._urls import is_loopback

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_MAX_ANSWER_BYTES",
    "MAX_JWT_LIFETIME",
    "ROLES",
    "AppAuth",
    "BotConfig",
    "BotSettings",
    "CertificateAuth",
    "ConfigKey",
    "Credentials",
    "DatafeedConfig",
    "HealthConfig",
    "KeySource",
    "Limits",
    "RetryPolicy",
    "Role",
    "RsaJwtAuth",
    "Timeouts",
    "describe_source",
    "is_loopback",
    "is_pem_text",
]
