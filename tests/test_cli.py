"""The `symbot` command line: keygen, --version and run, through their entry point and,
where they run until a signal, as real processes (check and emulator have their own files)."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import Process
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import symbot
from symbot.cli import main
from symbot.emulator import Emulator

COMMANDS = ["demo", "emulator", "run", "check", "keygen"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SYMBOT = [sys.executable, "-m", "symbot.cli"]


# --- keygen and help ------------------------------------------------------------------------


def test_keygen_writes_private_pkcs8_key_0600_and_prints_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "bot.pem"
    assert main(["keygen", "-o", str(key_path), "--bits", "2048"]) == 0

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    pem = key_path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048

    printed = capsys.readouterr().out
    public = serialization.load_pem_public_key(printed.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()
    assert (tmp_path / "bot.pem.pub").read_text() == printed


def test_keygen_refuses_to_overwrite_an_existing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "bot.pem"
    key_path.write_text("precious")
    assert main(["keygen", "-o", str(key_path)]) == 1
    assert key_path.read_text() == "precious"
    assert "--force" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    overview = capsys.readouterr().out
    assert all(name in overview for name in COMMANDS)
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage: symbot " + name in capsys.readouterr().out


def test_version_names_symbot_and_python(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"symbot {symbot.__version__} (Python 3.")


def test_one_commands_defaults_do_not_leak_into_another() -> None:
    from symbot.cli._main import _build_parser

    parser = _build_parser()
    assert parser.parse_args(["check"]).log_level == "ERROR"
    assert parser.parse_args(["run", "bot:Bot"]).log_level == "INFO"


# --- run (`symbot check` is tested in tests/test_cli_check.py) ----------------------------


def test_keygen_refuses_to_overwrite_an_existing_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "bot.pem"
    (tmp_path / "bot.pem.pub").write_text("the key the pod knows")
    assert main(["keygen", "-o", str(key_path), "--bits", "2048"]) == 1
    assert (
        "bot.pem.pub: already exists. Fix: choose another path or pass --force"
        in capsys.readouterr().err
    )
    assert not key_path.exists()  # nothing written, not even the private key
    assert (tmp_path / "bot.pem.pub").read_text() == "the key the pod knows"


def test_keygen_never_follows_a_symbolic_link_even_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    key_path, public_path = tmp_path / "bot.pem", tmp_path / "bot.pem.pub"
    key_path.symlink_to(victim)
    public_path.symlink_to(victim)
    assert main(["keygen", "-o", str(key_path), "--bits", "2048"]) == 1
    (tmp_path / "dangling.pem").symlink_to(tmp_path / "nowhere")
    assert main(["keygen", "-o", str(tmp_path / "dangling.pem"), "--bits", "2048"]) == 1
    assert not (tmp_path / "nowhere").exists()
    capsys.readouterr()

    assert main(["keygen", "-o", str(key_path), "--bits", "2048", "--force"]) == 0
    assert victim.read_text() == "precious"
    assert not key_path.is_symlink()
    assert not public_path.is_symlink()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(public_path.stat().st_mode) == 0o644
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_path.read_text() == capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bot.pem", "bot.pem.pub", "dangling.pem", "victim.txt"
    ]  # fmt: skip


def write_config(emu: Emulator, tmp_path: Path, username: str = "bot") -> Path:
    """A symbot.toml for `username` (whose key the emulator generated) against `emu`."""
    key = tmp_path / f"{username}.pem"
    if not key.exists():
        emu.user(username).write_private_key(key)
    path = tmp_path / f"{username}.toml"
    path.write_text(emu.bot_config_toml(username, key))
    return path


@pytest.fixture
def pod_config(tmp_path: Path) -> Path:
    """A valid configuration for a pod that is never reached (the target fails first)."""
    config = tmp_path / "symbot.toml"
    config.write_text('pod_url = "https://acme.symphony.com"\n[auth]\nusername = "bot"\n'
                      'private_key = "bot.pem"\n')  # fmt: skip
    return config


def run_error(capsys: pytest.CaptureFixture[str], target: str, config: Path) -> str:
    """What `symbot run TARGET` printed on stderr, after checking it exited with 1."""
    assert main(["run", target, "-c", str(config)]) == 1
    return capsys.readouterr().err


def test_run_names_a_bad_target_as_the_target(
    pod_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_bot = f"{EXAMPLES / 'echo_bot.py'}:Nope"
    errors = {
        target: run_error(capsys, target, pod_config)
        for target in (not_a_bot, "no_such_module_here:Bot", "no_colon", "missing_file.py:Bot")
    }

    for target, err in errors.items():
        assert err.startswith(f"symbot run: cannot load the bot {target!r}: "), err
        assert "config field" not in err
        assert err.count("Fix:") == 1
    assert "'Nope' in" in errors[not_a_bot]
    assert "Fix: it defines EchoBot" in errors[not_a_bot]
    assert "no module named 'no_such_module_here'" in errors["no_such_module_here:Bot"]


BROKEN_BOTS = {
    "missing import": ("from symbot import Bot\n\nimport no_such_package_xyz\n",
                       3, "import no_such_package_xyz", "ModuleNotFoundError"),
    "error at import": ("from symbot import Bot\n\n\nclass MyBot(Bot):\n"
                        "    limit = 1 / 0\n", 5, "limit = 1 / 0", "ZeroDivisionError"),
    "syntax error": ("from symbot import Bot\n\nclass MyBot(Bot)\n    pass\n",
                     3, "class MyBot(Bot)", "SyntaxError"),
}  # fmt: skip


@pytest.mark.parametrize("case", BROKEN_BOTS)
def test_an_error_in_the_bots_own_module_is_shown_in_a_few_lines_at_its_line(
    tmp_path: Path, pod_config: Path, case: str
) -> None:
    source, line, code, error = BROKEN_BOTS[case]
    bot_file = tmp_path / f"broken_{case.replace(' ', '_')}.py"
    bot_file.write_text(source)
    result = subprocess.run(  # noqa: S603 - our own interpreter and command
        [*SYMBOT, "run", f"{bot_file}:MyBot", "-c", str(pod_config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    err = result.stderr
    assert err.startswith(f"symbot run: cannot load the bot '{bot_file}:MyBot': importing "), err
    assert f'"{bot_file}", line {line}' in err
    assert code in err
    assert error in err
    assert "Traceback" not in err
    assert "symbot/cli" not in err
    assert "importlib" not in err
    assert len(err.splitlines()) <= 8, err


def test_a_bot_file_imports_its_sibling_modules(tmp_path: Path) -> None:
    from symbot.cli import load_bot_class

    (tmp_path / "replies_for_sibling_test.py").write_text('GREETING = "hello"\n')
    bot_file = tmp_path / "sibling_bot.py"
    bot_file.write_text(textwrap.dedent("""
        from replies_for_sibling_test import GREETING
        from symbot import Bot

        class MyBot(Bot):
            greeting = GREETING
    """))  # fmt: skip
    assert load_bot_class(f"{bot_file}:MyBot").greeting == "hello"  # type: ignore[attr-defined]


@asynccontextmanager
async def reaped(process: Process) -> AsyncIterator[Process]:
    """`process`, killed on the way out if it still runs (a failed test leaves none behind)."""
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.anyio
async def test_run_serves_the_bot_until_sigterm_then_stops_cleanly(tmp_path: Path) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        emu.add_user("alice")
        config = write_config(emu, tmp_path)
        im = emu.create_im("alice", "bot")
        target = f"{EXAMPLES / 'echo_bot.py'}:EchoBot"
        command = [*SYMBOT, "run", target, "-c", str(config)]
        async with reaped(await anyio.open_process(command, stderr=subprocess.PIPE)) as process:
            with anyio.fail_after(30):
                while not emu.feeds("bot"):  # noqa: ASYNC110 - the emulator has no change hook
                    await anyio.sleep(0.05)
                emu.send("alice", im, "/echo over the wire")
                while not [m for m in emu.sent_messages() if m.sender == "bot"]:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
                process.send_signal(signal.SIGTERM)
                status = await process.wait()
        assert process.stderr is not None
        log = (await process.stderr.receive(1_000_000)).decode()
    assert status == 0, log
    assert [m.text for m in emu.sent_messages() if m.sender == "bot"] == ["over the wire"]
    assert "INFO  auth      bot@127.0.0.1: logged in" in log
    assert "SIGTERM received: stopping" in log


@pytest.mark.anyio
async def test_run_with_refused_credentials_says_why_and_exits_1(tmp_path: Path) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        emu.add_user("impostor").write_private_key(tmp_path / "bot.pem")  # not bot's key
        config = write_config(emu, tmp_path)
        target = f"{EXAMPLES / 'echo_bot.py'}:EchoBot"
        with anyio.fail_after(60):
            result = await anyio.run_process(
                [*SYMBOT, "run", target, "-c", str(config)], check=False
            )
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "symbot run: login of user 'bot' refused:" in err
    assert "Traceback" not in err
    assert "answered 401" in err


@pytest.mark.anyio
async def test_run_serves_probes_and_metrics_with_the_key_from_the_environment(
    tmp_path: Path,
) -> None:
    """`symbot run --health-port` as a container runs it: the key as PEM text in
    `SYMBOT_AUTH_PRIVATE_KEY` (the file holds no secret), probes and a scrape over real
    HTTP, then SIGTERM."""
    async with Emulator() as emu:
        bot = emu.add_user("bot")
        assert bot.private_key_pem is not None
        config = tmp_path / "symbot.toml"
        config.write_text(f'pod_url = "{emu.https_url}"\nca_bundle = "{emu.ca_bundle}"\n'
                          '[auth]\nusername = "bot"\n')  # fmt: skip
        env = {**os.environ, "SYMBOT_AUTH_PRIVATE_KEY": bot.private_key_pem.decode()}
        target = f"{EXAMPLES / 'echo_bot.py'}:EchoBot"
        command = [*SYMBOT, "run", target, "-c", str(config), "--health-port", "0", "--log-json"]
        process = await anyio.open_process(command, stderr=subprocess.PIPE, env=env)
        async with reaped(process), httpx.AsyncClient() as http:
            assert process.stderr is not None
            log = b""
            with anyio.fail_after(30):
                while (found := re.search(rb"health and metrics on (http://[^ ]+)", log)) is None:
                    log += await process.stderr.receive()
                url = found.group(1).decode()
                while (await http.get(f"{url}/readyz")).status_code != 200:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
                alive = (await http.get(f"{url}/healthz")).json()
                metrics = (await http.get(f"{url}/metrics")).text
                process.send_signal(signal.SIGTERM)
                status = await process.wait()
            log += await process.stderr.receive(1_000_000)
    assert status == 0, log.decode()
    assert alive == {"alive": True, "status": "ready"}
    assert "\nsymbot_ready 1\n" in metrics
    assert '\nsymbot_logins_total{reason="first login"} 1\n' in metrics
    assert b"PRIVATE KEY" not in log
