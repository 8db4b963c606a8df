"""One validation pass: every value that would fail later fails when the configuration is
loaded, as a ConfigError naming the key and the fix; plain HTTP is refused; secrets given in
a wrong form are never echoed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from symbot.config import BotConfig, RetryPolicy, RsaJwtAuth
from symbot.errors import ConfigError
from symbot.transport import Transport

from .support import config_error, load_config

POD = 'pod_url = "https://acme.symphony.com"\n'
AUTH = '[auth]\nusername = "bot"\nprivate_key = "bot.pem"\n'


@pytest.mark.parametrize(
    ("top", "section", "field", "words"),
    [
        ("refresh_jitter = 1.5", "", "refresh_jitter", "between 0 and 1"),
        ("refresh_jitter = 1.0", "", "refresh_jitter", "1 excluded"),
        ("refresh_margin = -1", "", "refresh_margin", ">= 0"),
        ("max_token_age = 0", "", "max_token_age", "> 0"),
        ("max_token_age = inf", "", "max_token_age", "finite"),
        ("allow_insecure_http = 'maybe'", "", "allow_insecure_http", "true or false"),
        ("", "[retry]\njitter = 1.0", "retry.jitter", "between 0 and 1"),
        ("", "[retry]\nmultiplier = 0.5", "retry.multiplier", ">= 1"),
        ("", "[retry]\nmaximum = nan", "retry.maximum", "finite"),
        ("", "[retry]\ninitial = inf", "retry.initial", "finite"),
        ("", "[retry]\nmax_attempts = 2.5", "retry.max_attempts", "an integer"),
        ("", "[retry]\nmax_attempts = -1", "retry.max_attempts", ">= 1"),
        ("", "[timeouts]\nagent = nan", "timeouts.agent", "finite"),
        ("", "[timeouts]\nconnect = 0", "timeouts.connect", "> 0"),
        ("", "[timeouts]\npod = 1e12", "timeouts.pod", "at most 2592000 seconds"),
        ("max_token_age = 2_600_000", "", "max_token_age", "30 days"),
        ("", "[datafeed]\nread_timeout = -inf", "datafeed.read_timeout", "finite"),
        ("", "[datafeed]\ntag = ''", "datafeed.tag", "non-empty"),
        ("", f"[datafeed]\ntag = '{'t' * 101}'", "datafeed.tag", "at most 100"),
        ("", "[bot]\nconcurrency = 2.5", "bot.concurrency", "an integer"),
        ("", "[bot]\nconcurrency = 0", "bot.concurrency", ">= 1"),
        ("", "[bot]\nstop_timeout = inf", "bot.stop_timeout", "finite"),
        ("", "[bot]\nsend_rate_per_stream = 0", "bot.send_rate_per_stream", "> 0"),
        ("", "[bot]\nignore_own_messages = 'perhaps'", "bot.ignore_own_messages", "true"),
        ("proxy = 'ftp://proxy:21'", "", "proxy", "http"),
        ("proxy = 'http://'", "", "proxy", "no host"),
        ("pod_url = 'https://pod:99999'", "", "pod_url", "invalid port"),
        ("pod_url = 'https://po d.example.com'", "", "pod_url", "invalid host"),
        ("pod_url = 'https://[::1'", "", "pod_url", "not a valid URL"),
        ("pod_url = 'https://pod.example.com/?x=1'", "", "pod_url", "query or fragment"),
        ("agent_url = 'agent.example.com'", "", "agent_url", "https"),
    ],
)
def test_a_value_that_would_fail_later_fails_at_load(
    tmp_path: Path, top: str, section: str, field: str, words: str
) -> None:
    text = f"{top}\n" + (POD if not top.startswith("pod_url") else "") + AUTH + section + "\n"
    error = config_error(tmp_path, text)
    assert error.field == field
    assert words in str(error)


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("SYMBOT_RETRY_JITTER", "1", "retry.jitter"),
        ("SYMBOT_TIMEOUTS_AGENT", "nan", "timeouts.agent"),
        ("SYMBOT_BOT_CONCURRENCY", "2.5", "bot.concurrency"),
        ("SYMBOT_REFRESH_JITTER", "1.5", "refresh_jitter"),
    ],
)
def test_the_same_checks_apply_to_environment_variables(
    tmp_path: Path, variable: str, value: str, field: str
) -> None:
    assert config_error(tmp_path, POD + AUTH, {variable: value}).field == field


def test_an_integral_number_is_an_integer(tmp_path: Path) -> None:
    config = load_config(
        tmp_path, POD + AUTH + "[bot]\nconcurrency = 8.0\n", {"SYMBOT_RETRY_MAX_ATTEMPTS": "3"}
    )
    assert config.bot.concurrency == 8
    assert config.retry.max_attempts == 3


def test_python_values_get_the_same_checks() -> None:
    with pytest.raises(ConfigError, match="refresh_jitter"):
        BotConfig(pod_url="https://a.b", refresh_jitter=1.5)
    with pytest.raises(ConfigError, match=r"retry\.max_attempts"):
        RetryPolicy(max_attempts=True)
    with pytest.raises(ConfigError, match="timeouts"):
        BotConfig(pod_url="https://a.b", timeouts=30)  # type: ignore[arg-type]


def test_the_default_datafeed_tag_must_fit_the_agent(tmp_path: Path) -> None:
    long_name = "b" * 95
    error = config_error(tmp_path, POD + AUTH.replace('"bot"', f'"{long_name}"'))
    assert error.field == "datafeed.tag"
    text = POD + AUTH.replace('"bot"', f'"{long_name}"') + "[datafeed]\ntag = 'short'\n"
    assert load_config(tmp_path, text).datafeed.tag == "short"


def test_a_ca_bundle_that_holds_no_certificate_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n"
    )
    error = config_error(tmp_path, 'ca_bundle = "ca.pem"\n' + POD + AUTH)
    assert error.field == "ca_bundle"
    assert "no PEM certificate" in str(error)
    (tmp_path / "dir").mkdir()
    assert "directory" in str(config_error(tmp_path, 'ca_bundle = "dir"\n' + POD + AUTH))


def test_an_unset_secret_variable_fails_at_load_naming_it(tmp_path: Path) -> None:
    text = POD + AUTH + 'passphrase_env = "BOT_KEY_SECRET"\n'
    error = config_error(tmp_path, text)
    assert error.field == "auth.passphrase_env"
    assert "BOT_KEY_SECRET is not set" in str(error)
    assert "is empty" in str(config_error(tmp_path, text, {"BOT_KEY_SECRET": ""}))
    config = load_config(tmp_path, text, {"BOT_KEY_SECRET": "from the mapping"})
    assert isinstance(config.auth, RsaJwtAuth)
    assert config.auth.passphrase == "from the mapping"


def test_environment_values_are_bounded_and_never_echoed(tmp_path: Path) -> None:
    huge = "x" * (64 * 1024 + 1)
    error = config_error(tmp_path, POD + AUTH, {"SYMBOT_AUTH_PASSPHRASE": huge})
    assert error.field == "auth.passphrase"
    assert "SYMBOT_AUTH_PASSPHRASE" in str(error)
    assert "xxxxxxxx" not in str(error)
    text = POD + AUTH + 'passphrase_env = "BIG"\n'
    assert "BIG holds" in str(config_error(tmp_path, text, {"BIG": huge}))


def test_a_config_file_is_bounded_in_size_and_depth(tmp_path: Path) -> None:
    assert "larger than" in str(config_error(tmp_path, POD + "#" * (1024 * 1024) + "\n"))
    deep = "x = " + "[" * 50_000 + "]" * 50_000 + "\n"
    assert "too deeply" in str(config_error(tmp_path, POD + deep))


# -- secrets in the wrong form are not echoed ------------------------------------------------


def test_a_numeric_passphrase_is_refused_without_showing_it(tmp_path: Path) -> None:
    error = config_error(tmp_path, POD + AUTH + "passphrase = 918273645501\n")
    assert error.field == "auth.passphrase"
    assert "918273645501" not in str(error)
    assert "got int" in str(error)
    assert 'quote it: passphrase = "..."' in str(error)


def test_a_proxy_password_stays_out_of_the_repr(tmp_path: Path) -> None:
    text = 'proxy = "http://user:pw-hunter2@proxy:3128"\n' + POD
    text += '[proxies]\nagent = "http://agent-user:pw-swordfish@agent-proxy:3128"\n' + AUTH
    config = load_config(tmp_path, text)
    assert config.proxy_for("pod") == "http://user:pw-hunter2@proxy:3128"  # still used as given
    for shown in (repr(config), str(config)):
        assert "hunter2" not in shown
        assert "swordfish" not in shown
        assert "http://user:***@proxy:3128" in shown


def test_a_password_in_a_role_url_is_refused_without_showing_it(tmp_path: Path) -> None:
    error = config_error(tmp_path, 'pod_url = "https://bot:hunter2@acme.symphony.com"\n' + AUTH)
    assert error.field == "pod_url"
    assert "hunter2" not in str(error)
    assert "user name or password" in str(error)


# -- plain HTTP ------------------------------------------------------------------------------

ROLE_URLS = ["pod_url", "agent_url", "key_manager_url", "session_auth_url"]


@pytest.mark.parametrize("key", ROLE_URLS)
@pytest.mark.parametrize("source", ["file", "environment"])
def test_plain_http_is_refused_for_every_role(tmp_path: Path, key: str, source: str) -> None:
    url = "http://acme.symphony.com:8080"
    text = (POD if key != "pod_url" else "") + AUTH
    if source == "file":
        error = config_error(tmp_path, f'{key} = "{url}"\n' + text)
    else:
        env = {f"SYMBOT_{key.upper()}": url}
        error = config_error(tmp_path, POD + AUTH if key == "pod_url" else text, env)
    assert error.field == key
    assert "plain http" in str(error)
    assert "use https://acme.symphony.com:8080" in str(error)
    assert "allow_insecure_http" in str(error)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.8.9.10", "http://[::1]:8080", "http://localhost"]
)
def test_plain_http_on_loopback_is_accepted(url: str) -> None:
    config = BotConfig(pod_url=url)
    assert config.agent_url == url


def test_plain_http_elsewhere_needs_the_explicit_opt_in(tmp_path: Path) -> None:
    text = 'pod_url = "http://pod.test"\nallow_insecure_http = true\n' + AUTH
    config = load_config(tmp_path, text)
    assert config.pod_url == "http://pod.test"
    env = {"SYMBOT_POD_URL": "http://pod.test", "SYMBOT_ALLOW_INSECURE_HTTP": "true"}
    assert load_config(tmp_path, POD + AUTH, env).key_manager_url == "http://pod.test"


def test_the_opt_in_in_use_is_logged_once_per_role(caplog: pytest.LogCaptureFixture) -> None:
    insecure = BotConfig(
        pod_url="http://pod.test", agent_url="https://agent.test", allow_insecure_http=True
    )
    with caplog.at_level(logging.WARNING, logger="symbot.transport"):
        Transport(insecure)
        Transport(BotConfig(pod_url="http://127.0.0.1:8080"))  # the served emulator: no word
    warned = [r.getMessage() for r in caplog.records if "plain HTTP" in r.getMessage()]
    assert [line.split(" at ")[0] for line in warned] == [
        "the pod",
        "the key manager",
        "the session auth",
    ]
    assert all("clear text" in line for line in warned)


def test_a_proxy_may_be_plain_http() -> None:
    config = BotConfig(pod_url="https://a.b", proxy="http://proxy.corp:3128")
    assert config.proxy_for("agent") == "http://proxy.corp:3128"
