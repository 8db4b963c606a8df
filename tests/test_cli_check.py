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
from symbot.emulator import Emulator

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
    assert re.search(r"\nsession expires in \d+ min$", pod)  # the pod's authorizationToken
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
