"""BotConfig: TOML files, SYMBOT_* overrides, defaults, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from symbot.auth import CertificateAuth, RsaJwtAuth
from symbot.config import CONFIG_KEYS, BotConfig, DatafeedConfig, RetryPolicy
from symbot.errors import ConfigError

from .support import config_error, load_config

RSA = """
pod_url = "https://acme.symphony.com/"
[auth]
username = "bot"
private_key = "keys/bot.pem"
"""
POD = 'pod_url = "https://a.b"\n'


def test_a_minimal_rsa_file_defaults_every_role_to_the_pod(tmp_path: Path) -> None:
    config = load_config(tmp_path, RSA)
    assert config.pod_url == "https://acme.symphony.com"
    assert config.agent_url == config.key_manager_url == config.session_auth_url == config.pod_url
    assert isinstance(config.auth, RsaJwtAuth)
    assert config.auth.private_key == tmp_path / "keys" / "bot.pem"
    assert config.timeouts.agent == 45.0
    assert config.datafeed.tag_for("bot") == "symbot-bot"
    assert config.bot.concurrency == 64


def test_every_section_is_read(tmp_path: Path) -> None:
    config = load_config(
        tmp_path,
        RSA
        + """
[timeouts]
agent = 60
[retry]
initial = 1
max_attempts = 0
[datafeed]
tag = "echo"
[bot]
ignore_own_messages = false
send_rate_per_stream = 2
[proxies]
agent = "http://proxy:3128"
""",
    )
    assert config.timeouts.agent == 60.0
    assert config.retry == RetryPolicy(initial=1.0, max_attempts=None)
    assert config.datafeed == DatafeedConfig(tag="echo")
    assert config.bot.ignore_own_messages is False
    assert config.bot.send_rate_per_stream == 2.0
    assert config.proxy_for("agent") == "http://proxy:3128"
    assert config.proxy_for("pod") is None


def test_environment_variables_override_the_file(tmp_path: Path) -> None:
    env = {
        "SYMBOT_POD_URL": "https://other.symphony.com",
        "SYMBOT_AGENT_URL": "https://agent.acme:8443",
        "SYMBOT_AUTH_PASSPHRASE": "from env",
        "SYMBOT_DATAFEED_TAG": "blue",
        "SYMBOT_BOT_MENTION_REQUIRED_IN_ROOMS": "no",
        "SYMBOT_RETRY_MAX_ATTEMPTS": "7",
        "UNRELATED": "x",
    }
    config = load_config(tmp_path, RSA, env)
    assert config.pod_url == "https://other.symphony.com"
    assert config.agent_url == "https://agent.acme:8443"
    assert config.key_manager_url == "https://other.symphony.com"
    assert isinstance(config.auth, RsaJwtAuth)
    assert config.auth.passphrase == "from env"
    assert config.datafeed.tag == "blue"
    assert config.bot.mention_required_in_rooms is False
    assert config.retry.max_attempts == 7


def test_the_environment_alone_is_a_configuration(tmp_path: Path) -> None:
    config = BotConfig.from_env(
        {
            "SYMBOT_POD_URL": "https://acme.symphony.com",
            "SYMBOT_AUTH_USERNAME": "bot",
            "SYMBOT_AUTH_PRIVATE_KEY": str(tmp_path / "bot.pem"),
        }
    )
    assert config.auth is not None
    assert config.auth.username == "bot"


def test_certificate_auth_from_a_file(tmp_path: Path) -> None:
    config = load_config(
        tmp_path,
        """
pod_url = "https://acme.symphony.com"
session_auth_url = "https://acme-api.symphony.com:8444"
[auth]
p12 = "bot.p12"
password_env = "BOT_P12_PASSWORD"
""",
        {"BOT_P12_PASSWORD": "from the environment"},
    )
    assert isinstance(config.auth, CertificateAuth)
    assert config.auth.certificate == tmp_path / "bot.p12"
    assert config.auth.password == "from the environment"
    assert config.session_auth_url == "https://acme-api.symphony.com:8444"


def test_an_unknown_key_suggests_the_closest_one(tmp_path: Path) -> None:
    error = config_error(tmp_path, RSA.replace("private_key", "privat_key"))
    assert error.field == "auth.privat_key"
    assert "auth.private_key" in str(error)
    error = config_error(tmp_path, 'pod_ulr = "https://x"\n')
    assert "did you mean 'pod_url'" in str(error)


def test_an_unknown_environment_variable_is_reported_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_config(tmp_path, RSA, {"SYMBOT_DATAFEED_TAGG": "x"})
    assert "SYMBOT_DATAFEED_TAG" in caplog.text


@pytest.mark.parametrize(
    ("text", "env", "field", "words"),
    [
        ("[auth]\nusername='bot'\nprivate_key='k'\n", {}, "pod_url", "SYMBOT_POD_URL"),
        (RSA.replace("https://acme.symphony.com/", "acme.symphony.com"), {}, "pod_url", "https"),
        (RSA + "[timeouts]\nagent = 'long'\n", {}, "timeouts.agent", "a number"),
        (RSA + "[timeouts]\nagent = -1\n", {}, "timeouts.agent", "> 0"),
        (RSA, {"SYMBOT_BOT_CONCURRENCY": "many"}, "bot.concurrency", "SYMBOT_BOT_CONCURRENCY"),
        (RSA + "[retry]\njitter = 2\n", {}, "retry.jitter", "between 0 and 1"),
        (RSA + "jwt_lifetime = 600\n", {}, "auth.jwt_lifetime", "240"),
        (POD + '[auth]\nusername = "bot"\n', {}, "auth.private_key", "auth.type"),
        (RSA + "certificate = 'c.pem'\n", {}, "auth.type", "remove the other"),
        (RSA + "type = 'certificate'\ncertificate = 'c'\n", {}, "auth.private_key", "auth.type"),
        (POD + '[auth]\ntype = "oauth"\n', {}, "auth.type", '"rsa"'),
        (RSA + "[proxies]\ncdn = 'http://p'\n", {}, "proxies.cdn", "did you mean"),
        (RSA + 'ca_bundle = "missing.pem"\n', {}, "ca_bundle", "not a file"),
    ],
)
def test_validation_errors_name_the_field_and_the_fix(
    tmp_path: Path, text: str, env: dict[str, str], field: str, words: str
) -> None:
    if "ca_bundle" in text:  # top-level keys must come before [auth]
        text = 'ca_bundle = "missing.pem"\n' + RSA
    error = config_error(tmp_path, text, env)
    assert error.field == field
    assert words in str(error)
    assert "Fix:" in str(error)


def test_the_visibility_timeout_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    assert load_config(tmp_path, RSA).datafeed.visibility_timeout == 30.0
    in_file = RSA + "[datafeed]\nvisibility_timeout = 12.5\n"
    assert load_config(tmp_path, in_file).datafeed.visibility_timeout == 12.5
    env = {"SYMBOT_DATAFEED_VISIBILITY_TIMEOUT": "7"}
    assert load_config(tmp_path, in_file, env).datafeed.visibility_timeout == 7.0


@pytest.mark.parametrize(
    ("file_value", "env_value", "words"),
    [
        ("0", None, "> 0"),
        ("-1.5", None, "> 0"),
        ("'soon'", None, "a number"),
        ("true", None, "a number"),
        (None, "0", "> 0"),
        (None, "-5", "> 0"),
        (None, "soon", "SYMBOT_DATAFEED_VISIBILITY_TIMEOUT"),
    ],
    ids=["file 0", "file -1.5", "file string", "file bool", "env 0", "env -5", "env word"],
)
def test_a_visibility_timeout_that_is_not_a_positive_number_is_refused(
    tmp_path: Path, file_value: str | None, env_value: str | None, words: str
) -> None:
    text = RSA if file_value is None else f"{RSA}[datafeed]\nvisibility_timeout = {file_value}\n"
    env = {} if env_value is None else {"SYMBOT_DATAFEED_VISIBILITY_TIMEOUT": env_value}
    error = config_error(tmp_path, text, env)
    assert error.field == "datafeed.visibility_timeout"
    assert words in str(error)
    assert "Fix:" in str(error)


def test_a_visibility_timeout_given_in_python_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"datafeed\.visibility_timeout.*> 0"):
        DatafeedConfig(visibility_timeout=0)


def test_a_broken_file_is_a_config_error(tmp_path: Path) -> None:
    assert "not valid TOML" in str(config_error(tmp_path, "pod_url = \n"))
    with pytest.raises(ConfigError, match="not found"):
        BotConfig.from_file(tmp_path / "absent.toml", env={})


def test_every_key_is_documented_with_its_environment_variable() -> None:
    table = BotConfig.describe()
    for key in CONFIG_KEYS:
        assert f"`{key.key}`" in table
        assert key.env.startswith("SYMBOT_")
        assert f"`{key.env}`" in table
    assert any(key.env == "SYMBOT_AUTH_PRIVATE_KEY" for key in CONFIG_KEYS)


def test_secrets_stay_out_of_the_config_repr(tmp_path: Path) -> None:
    config = load_config(tmp_path, RSA + 'passphrase = "hunter2"\n')
    pem = "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n"
    inline = BotConfig(
        pod_url="https://a.b", auth=RsaJwtAuth(username="bot", private_key=pem, passphrase="pw1")
    )
    assert "hunter2" not in repr(config)
    assert "QUJD" not in repr(inline)
    assert "pw1" not in repr(inline)


def test_backoff_grows_is_capped_jittered_and_honours_retry_after() -> None:
    policy = RetryPolicy(initial=1.0, maximum=8.0, multiplier=2.0, jitter=0.5)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0), (500, 8.0)]:
        delays = [policy.backoff(attempt) for _ in range(50)]
        assert all(base * 0.5 <= d <= base for d in delays)
    assert policy.backoff(1, retry_after=20.0) == 20.0
    assert RetryPolicy(jitter=0.0, initial=0.5).backoff(1) == 0.5
    assert RetryPolicy(multiplier=1e5, maximum=3.0, jitter=0.0).backoff(10**6) == 3.0
