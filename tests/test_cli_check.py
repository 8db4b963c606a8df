"""`symbot check`: one verdict per login endpoint (pod or session auth, then Key Manager),
each naming the endpoint and the user, then the agent steps only when both logins passed.

Each check runs through the command's entry point against a served emulator, on the same
anyio backend as the test (`--backend`), and its exit status is asserted.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from symbot.cli import main
from symbot.emulator import Emulator, emulator_config_toml

pytestmark = pytest.mark.anyio

POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
SESSION_CERT_LOGIN = "/sessionauth/v1/authenticate"
KM_CERT_LOGIN = "/keyauth/v1/authenticate"

Check = Callable[[Path], Awaitable[tuple[int, str]]]


@pytest.fixture
def check(anyio_backend: str, capsys: pytest.CaptureFixture[str]) -> Check:
    """Run `symbot check -c <config>`: its exit status and what it printed."""

    async def run(config: Path) -> tuple[int, str]:
        argv = ["check", "-c", str(config), "--backend", anyio_backend]
        with anyio.fail_after(60):
            status = await anyio.to_thread.run_sync(main, argv)
        return status, capsys.readouterr().out

    return run


def rsa_config(emu: Emulator, tmp_path: Path, *, key_of: str = "bot", extra: str = "") -> Path:
    """A symbot.toml logging in as `bot` with the private key the emulator made for `key_of`."""
    key = emu.user(key_of).write_private_key(tmp_path / f"{key_of}.pem")
    path = tmp_path / "symbot.toml"
    path.write_text(emu.bot_config_toml("bot", key) + extra)
    return path


def certificate_config(emu: Emulator, tmp_path: Path) -> Path:
    cert, key = emu.issue_certificate("bot").write_pem(tmp_path)
    path = tmp_path / "symbot-cert.toml"
    path.write_text(
        f'pod_url = "{emu.https_url}"\nca_bundle = "{emu.ca_bundle}"\n\n'
        f'[auth]\ntype = "certificate"\ncertificate = "{cert}"\nkey = "{key}"\n'
    )
    return path


def line(out: str, start: str) -> str:
    """The one printed line that starts with `start` (with its continuation lines)."""
    found = [block for block in _blocks(out) if block.startswith(start)]
    assert len(found) == 1, f"expected one line starting {start!r} in:\n{out}"
    return found[0]


def _blocks(out: str) -> list[str]:
    blocks: list[str] = []
    for text in out.splitlines():
        if text.startswith(" ") and blocks:
            blocks[-1] += "\n" + text.strip()
        else:
            blocks.append(text)
    return blocks


async def test_check_gives_each_login_endpoint_its_own_ok_line_then_reads_the_agent(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator(authorization_token_lifetime=3600) as emu:
        user = emu.add_user("bot", display_name="Check Bot")
        status, out = await check(rsa_config(emu, tmp_path))
        url = emu.https_url
    assert status == 0, out
    pod = line(out, "login     pod: OK in")
    assert f"POST {url}{POD_LOGIN} as 'bot'" in pod
    assert "\ntokens used until a 401 (they live as the pod's policy says" in pod
    assert re.search(r"\nan access token \(beta\) came with it, valid \d+ min$", pod)
    assert line(out, "login     key manager: OK in").endswith(f"POST {url}{KM_LOGIN} as 'bot'")
    assert line(out, "session") == f"session   bot, user id {user.user_id} (Check Bot)"
    assert line(out, "agent").startswith("agent     datafeeds readable")
    assert "FAILED" not in out
    assert "All checks passed" in out


async def test_a_key_manager_refusal_is_reported_against_the_key_manager_alone(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        config = rsa_config(emu, tmp_path)
        emu.fault(KM_LOGIN, status=401)
        status, out = await check(config)
        url = emu.https_url
    assert status == 1, out
    assert f"POST {url}{POD_LOGIN} as 'bot'" in line(out, "login     pod: OK")
    refusal = line(out, "login     key manager: FAILED")
    assert f"POST {url}{KM_LOGIN} answered 401 for user 'bot'" in refusal
    assert "fault injected by the emulator (401)" in refusal  # the server's own message
    assert "Check: that user 'bot' exists on the Key Manager" in refusal
    assert "session " not in out  # the agent steps need both logins
    assert "The bot cannot run until this is fixed." in out


async def test_a_pod_refusing_the_key_still_gets_the_key_managers_verdict(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        emu.add_user("impostor")
        config = rsa_config(emu, tmp_path, key_of="impostor")  # not bot's key
        status, out = await check(config)
        key_manager_tried = emu.received_requests(KM_LOGIN)
        url = emu.https_url
    assert status == 1, out
    pod = line(out, "login     pod: FAILED")
    assert f"POST {url}{POD_LOGIN} answered 401 for user 'bot'" in pod
    assert "invalid token signature" in pod
    assert "public key matches the private key" in pod
    assert key_manager_tried
    key_manager = line(out, "login     key manager: FAILED")
    assert f"POST {url}{KM_LOGIN} answered 401 for user 'bot'" in key_manager
    assert "The bot cannot run until these are fixed." in out
    assert "-----BEGIN" not in out
    assert "eyJ" not in out  # no JWT


async def test_a_key_manager_that_accepts_says_so_when_the_pod_refuses(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        config = rsa_config(emu, tmp_path)
        emu.fault(POD_LOGIN, status=403)
        status, out = await check(config)
    assert status == 1, out
    assert "answered 403 for user 'bot'" in line(out, "login     pod: FAILED")
    assert f"{KM_LOGIN} as 'bot'" in line(out, "login     key manager: OK")
    assert "session " not in out


async def test_certificate_logins_get_one_verdict_each(tmp_path: Path, check: Check) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        config = certificate_config(emu, tmp_path)
        passed, passed_out = await check(config)
        emu.fault(KM_CERT_LOGIN, status=401)
        refused, refused_out = await check(config)
        url = emu.https_url
    assert passed == 0, passed_out
    assert f"POST {url}{SESSION_CERT_LOGIN} as 'bot'" in line(
        passed_out, "login     session auth: OK"
    )
    assert f"POST {url}{KM_CERT_LOGIN} as 'bot'" in line(passed_out, "login     key manager: OK")
    assert refused == 1, refused_out
    assert "login     session auth: OK" in refused_out
    refusal = line(refused_out, "login     key manager: FAILED")
    assert f"POST {url}{KM_CERT_LOGIN} answered 401 for user 'bot'" in refusal
    assert "Check: that the client certificate" in refusal
    assert "since March 2025 Symphony answers 401 to a certificate login that carries a " in (
        refusal.replace("\n", " ")
    )


async def test_an_rsa_login_refusal_does_not_blame_a_content_type(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        emu.add_user("impostor")
        status, out = await check(rsa_config(emu, tmp_path, key_of="impostor"))
    assert status == 1
    assert "Content-Type" not in out


async def test_a_missing_key_file_is_one_problem_with_one_fix(tmp_path: Path, check: Check) -> None:
    config = tmp_path / "symbot.toml"
    config.write_text(
        'pod_url = "https://acme.symphony.com"\n[auth]\nusername = "bot"\n'
        'private_key = "missing.pem"\n'
    )
    status, out = await check(config)
    assert status == 1
    keys = line(out, "keys      FAILED")
    assert "missing.pem" in keys
    assert out.count("Fix:") == 1, out
    assert "Fix: check the path in auth.private_key" in keys


async def test_a_login_that_needs_the_previous_key_passes_with_a_warning(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        emu.add_user("impostor")
        previous = emu.user("bot").write_private_key(tmp_path / "previous.pem")
        extra = f'previous_private_key = "{previous}"\n'
        config = rsa_config(emu, tmp_path, key_of="impostor", extra=extra)  # new key not imported
        status, out = await check(config)
    assert status == 0, out
    for endpoint in ("pod", "key manager"):
        accepted = line(out, f"login     {endpoint}: OK")
        assert "only with auth.previous_private_key" in accepted
        assert "the current key was refused" in accepted
    assert "All checks passed" in out


async def test_check_explains_a_config_mistake_plainly(tmp_path: Path, check: Check) -> None:
    config = tmp_path / "symbot.toml"
    config.write_text('pod_ulr = "https://acme.symphony.com"\n')
    status, out = await check(config)
    assert status == 1
    assert "config    FAILED: pod_ulr: unknown key" in out
    assert "did you mean 'pod_url'?" in out


async def test_check_says_which_host_it_could_not_reach(tmp_path: Path, check: Check) -> None:
    key = tmp_path / "bot.pem"
    Emulator().add_user("bot").write_private_key(key)
    config = tmp_path / "symbot.toml"
    config.write_text(
        f'pod_url = "https://127.0.0.1:9"\n[auth]\nusername = "bot"\nprivate_key = "{key}"\n'
    )
    status, out = await check(config)
    assert status == 1
    assert "login     pod: FAILED: POST https://127.0.0.1:9/" in out
    assert "login     key manager: FAILED: POST https://127.0.0.1:9/" in out
    assert "reachable from this machine" in out


async def test_check_warns_about_a_key_file_others_may_read(tmp_path: Path, check: Check) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        config = rsa_config(emu, tmp_path)
        (tmp_path / "bot.pem").chmod(0o644)
        status, out = await check(config)
    assert status == 0, out  # a warning, not a failure: platforms mount secrets 0644
    keys = line(out, "keys      credentials loaded")
    assert "WARNING: the private key file" in keys
    assert f"chmod 600 {tmp_path / 'bot.pem'}" in keys


def app_config(emu: Emulator, tmp_path: Path, *, with_bot: bool, extra: str = "") -> Path:
    """A symbot.toml with `[app]` (the emulator's app `my-app`), and `[auth]` if `with_bot`."""
    app = emu.add_app("my-app")
    app_key = app.write_private_key(tmp_path / "my-app.pem")
    bot_key = emu.user("bot").write_private_key(tmp_path / "bot.pem") if with_bot else None
    path = tmp_path / "symbot.toml"
    path.write_text(
        emulator_config_toml(
            pod_url=emu.https_url,
            ca_bundle=emu.ca_bundle,
            username="bot" if with_bot else None,
            private_key=bot_key,
            app_id="my-app",
            app_private_key=app_key,
        )
        + extra
    )
    return path


async def test_check_logs_the_app_in_and_acts_for_the_check_user(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        alice = emu.add_user("alice")
        status, out = await check(
            app_config(emu, tmp_path, with_bot=True, extra='check_username = "alice"\n')
        )
        url = emu.https_url
    assert status == 0, out
    assert line(out, "login     pod: OK in")
    assert line(out, "app").endswith(f"POST {url}/login/pubkey/app/authenticate")
    assert (
        line(out, "obo")
        == f"obo       alice, user id {alice.user_id}: the app acts on their behalf"
    )
    assert "All checks passed: this bot can log in and read its datafeed; the app can log in" in out


async def test_check_of_an_app_alone_says_how_to_try_obo(tmp_path: Path, check: Check) -> None:
    async with Emulator() as emu:
        status, out = await check(app_config(emu, tmp_path, with_bot=False))
    assert status == 0, out
    assert "login " not in out
    assert line(out, "obo").startswith("obo       not tried: set app.check_username")
    assert "All checks passed: the app can log in." in out


async def test_check_reports_an_app_refused_and_a_user_it_may_not_act_for(
    tmp_path: Path, check: Check
) -> None:
    async with Emulator() as emu:
        emu.add_user("alice")
        config = app_config(emu, tmp_path, with_bot=False, extra='check_username = "alice"\n')
        emu.set_app_entitlement("my-app", "alice", entitled=False)
        not_entitled, out_obo = await check(config)
        emu.fault("/login/pubkey/app/authenticate", status=401, message="invalid app", count=1)
        refused, out_app = await check(config)
    assert not_entitled == 1
    obo = line(out_obo, "obo")
    assert "answered 403" in obo
    assert "not entitled to act on behalf of 'alice'" in obo
    assert "Check: that 'alice' is a user of this pod, that they installed the app" in obo
    assert refused == 1
    assert "app       FAILED: POST " in out_app
    assert "invalid app" in line(out_app, "app")
