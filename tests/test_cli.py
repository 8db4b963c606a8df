"""The `symbot` command line: keygen, check, run and emulator, through their entry point
and, where they serve or run until a signal, as real processes."""

from __future__ import annotations

import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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


def test_run_explains_a_target_that_is_not_a_bot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "symbot.toml"
    config.write_text('pod_url = "https://acme.symphony.com"\n[auth]\nusername = "bot"\n'
                      'private_key = "bot.pem"\n')  # fmt: skip
    assert main(["run", f"{EXAMPLES / 'echo_bot.py'}:Nope", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "'Nope' in" in err
    assert "it defines EchoBot" in err
    assert main(["run", "no_such_module_here:Bot", "-c", str(config)]) == 1
    assert "no module named 'no_such_module_here'" in capsys.readouterr().err


@pytest.mark.anyio
async def test_run_serves_the_bot_until_sigterm_then_stops_cleanly(tmp_path: Path) -> None:
    async with Emulator() as emu:
        emu.add_user("bot")
        emu.add_user("alice")
        config = write_config(emu, tmp_path)
        im = emu.create_im("alice", "bot")
        target = f"{EXAMPLES / 'echo_bot.py'}:EchoBot"
        process = await anyio.open_process(
            [*SYMBOT, "run", target, "-c", str(config)], stderr=subprocess.PIPE
        )
        try:
            with anyio.fail_after(30):
                while not emu.feeds("bot"):  # noqa: ASYNC110 - the emulator has no change hook
                    await anyio.sleep(0.05)
                emu.send("alice", im, "/echo over the wire")
                while not [m for m in emu.sent_messages() if m.sender == "bot"]:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
                process.send_signal(signal.SIGTERM)
                status = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.stderr is not None
        log = (await process.stderr.receive(1_000_000)).decode()
    assert status == 0, log
    assert [m.text for m in emu.sent_messages() if m.sender == "bot"] == ["over the wire"]
    assert "INFO  auth      bot@127.0.0.1: logged in" in log
    assert "SIGTERM received: stopping" in log


# --- emulator -----------------------------------------------------------------------------


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`symbot emulator` on free ports, and its output up to the ready banner's last line."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [*SYMBOT, "emulator", "--port", "0", "--https-port", "0", "--dir", str(tmp_path),
         "--users", "alice", "--bot-username", "devbot"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("     symbot run"):
                break
        yield process, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        watchdog.cancel()


def test_emulator_command_prints_urls_and_a_config_that_check_accepts(
    tmp_path: Path,
    emulator_process: tuple[subprocess.Popen[str], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, lines = emulator_process
    banner = "\n".join(lines)
    assert "HTTPS  https://127.0.0.1:" in banner
    assert f"CA     {tmp_path / 'emulator-ca.pem'}" in banner
    assert "user   alice: IM with the bot" in banner
    config = tmp_path / "symbot.toml"
    assert 'username = "devbot"' in config.read_text()
    assert config.read_text().strip() in banner  # the printed TOML is the written one
    key = tmp_path / "devbot-private-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    assert main(["check", "-c", str(config)]) == 0, capsys.readouterr().out
    assert main(["check", "-c", str(tmp_path / "symbot-cert.toml")]) == 0
    out = capsys.readouterr().out
    assert "login     session auth: OK" in out
    assert "login     key manager: OK" in out

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
    assert process.stdout is not None
    assert "emulator stopped" in process.stdout.read()


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


def test_emulator_on_a_port_in_use_says_so_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["emulator", "--port", str(port), "--https-port", "0", "--dir", str(tmp_path)]
        assert main(argv) == 1
    assert f"port {port} or 0 on 127.0.0.1 is in use" in capsys.readouterr().err
