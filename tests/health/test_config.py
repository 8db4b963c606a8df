"""The `[health]` settings are checked when loaded, name their key and the fix; the labels a
scrape can carry stay few whatever callers pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from symbot.auth import LoginStats
from symbot.bot import DispatchStats
from symbot.cli import main
from symbot.config import BotConfig, DatafeedConfig, HealthConfig
from symbot.errors import ConfigError

POD = {
    "SYMBOT_POD_URL": "https://acme.symphony.com",
    "SYMBOT_AUTH_USERNAME": "bot",
    "SYMBOT_AUTH_PRIVATE_KEY": "bot.pem",
}
ANY = "0.0.0.0"  # noqa: S104 - a setting under test; nothing binds here


@pytest.mark.parametrize("port", [70000, -1, True, 1.5, "9102"])
def test_a_port_that_is_not_one_is_refused(port: object) -> None:
    with pytest.raises(ConfigError) as refused:
        HealthConfig(port=port)  # type: ignore[arg-type]
    assert refused.value.field == "health.port"


@pytest.mark.parametrize("host", ["", "not a host", "::1]", 127001, "a" * 300])
def test_an_address_that_is_not_one_is_refused(host: object) -> None:
    with pytest.raises(ConfigError) as refused:
        HealthConfig(host=host)  # type: ignore[arg-type]
    assert refused.value.field == "health.host"


@pytest.mark.parametrize("host", ["127.0.0.1", ANY, "::", "::1", "localhost", "bot-7.svc"])
def test_addresses_and_host_names_are_accepted(host: str) -> None:
    assert HealthConfig(host=host).host == host


def test_max_read_age_must_leave_an_idle_feed_one_long_poll() -> None:
    with pytest.raises(ConfigError) as refused:
        BotConfig(
            pod_url="https://acme.symphony.com",
            datafeed=DatafeedConfig(read_timeout=45),
            health=HealthConfig(max_read_age=45),
        )
    assert refused.value.field == "health.max_read_age"
    assert "datafeed.read_timeout (45 s)" in refused.value.problem
    assert "above 45" in refused.value.fix


def test_the_environment_sets_the_health_keys() -> None:
    config = BotConfig.from_env(
        {**POD, "SYMBOT_HEALTH_PORT": "9102", "SYMBOT_HEALTH_HOST": ANY,
         "SYMBOT_HEALTH_MAX_READ_AGE": "90"}
    )  # fmt: skip
    assert config.health == HealthConfig(port=9102, host=ANY, max_read_age=90)
    with pytest.raises(ConfigError) as refused:
        BotConfig.from_env({**POD, "SYMBOT_HEALTH_PORT": "ninety"})
    assert refused.value.field == "health.port"


def test_run_refuses_a_bad_health_port_before_anything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "symbot.toml"
    config.write_text('pod_url = "https://acme.symphony.com"\n[auth]\nusername = "bot"\n'
                      'private_key = "bot.pem"\n')  # fmt: skip
    assert main(["run", "bot:Bot", "-c", str(config), "--health-port", "70000"]) == 1
    assert "symbot run: config field 'health.port': expected a TCP port" in capsys.readouterr().err


def test_login_reasons_beyond_the_limit_count_as_other() -> None:
    stats = LoginStats()
    for number in range(40):
        stats.logged_in(f"reason {number}")
    stats.logged_in("reason 0")
    assert len(stats.logins) == 17
    assert stats.logins["reason 0"] == 2
    assert stats.logins["other"] == 24
    assert stats.total == 41


def test_handler_names_beyond_the_limit_are_timed_together() -> None:
    stats = DispatchStats()
    for number in range(300):
        stats.timed(f"Bot.handler_{number}", 0.01)
    assert len(stats.handler_seconds) == 257
    assert stats.handler_seconds["other"].count == 44
    stats.timed("Bot.handler_0", 0.02)
    assert stats.handler_seconds["Bot.handler_0"].count == 2
