"""`symbot emulator`: a flag for every `Emulator(...)` option, the ready banner and configs,
and `--chat` fed by a terminal, a pipe or a file, stopped by Ctrl-C or the end of input."""

from __future__ import annotations

import inspect
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from symbot.cli import main
from symbot.cli._emulator import EMULATOR_FLAGS, emulator_options
from symbot.cli._main import _build_parser
from symbot.emulator import Emulator

SYMBOT = [sys.executable, "-m", "symbot.cli"]
SESSION_CERT_LOGIN = "/sessionauth/v1/authenticate"


@contextmanager
def emulator_process(
    tmp_path: Path, *args: str, stdin: int | IO[Any] | None = None
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`symbot emulator` on free ports with `args`, and its output up to the banner's end."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [*SYMBOT, "emulator", "--port", "0", "--https-port", "0", "--dir", str(tmp_path),
         "--users", "alice", "--bot-username", "devbot", *args],
        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait for the process to end (the watchdog kills a hung one): its status, the rest of
    its output and its errors."""
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = process.stdout.read(), process.stderr.read()
    return process.wait(timeout=30), out, err


# --- every Emulator option is a flag -----------------------------------------------------


def test_every_emulator_option_has_a_flag() -> None:
    options = set(inspect.signature(Emulator).parameters)
    flags = {flag.parameter for flag in EMULATOR_FLAGS}
    assert options - flags == set(), "add these Emulator options to EMULATOR_FLAGS"
    assert flags - options == set(), "these flags set no Emulator option"


def test_each_flag_reaches_the_emulator_and_defaults_stay_the_emulators() -> None:
    parser = _build_parser()
    values = {"host": "127.0.0.2", "http_port": 1, "https_port": 2,
              "session_token_lifetime": 3.5, "km_token_lifetime": 4.5,
              "authorization_token_lifetime": 5.5, "visibility_timeout": 6.5,
              "long_poll_timeout": 7.5, "feed_ttl": 8.5, "max_batch": 9, "max_feeds_per_user": 10,
              "strict_content_type": False, "access_token_lifetime": 11.5,
              "clock_offset": -12.5}  # fmt: skip
    argv = ["emulator"]
    for flag in EMULATOR_FLAGS:
        argv += [flag.flag] if flag.switch is not None else [flag.flag, str(values[flag.parameter])]
    assert emulator_options(parser.parse_args(argv)).emulator == values

    defaults = emulator_options(parser.parse_args(["emulator", "--token-lifetime", "60"]))
    # The authorizationToken is a short-lived access token: its lifetime is its own.
    assert defaults.emulator == {"http_port": 8080, "https_port": 8443,
                                 "session_token_lifetime": 60.0, "km_token_lifetime": 60.0,
                                 "authorization_token_lifetime": 300.0}  # fmt: skip
    hintless = parser.parse_args(["emulator", "--no-expiry-hint"])
    assert emulator_options(hintless).emulator["authorization_token_lifetime"] is None

    emu = Emulator(**emulator_options(parser.parse_args(argv)).emulator)
    assert (emu.feed_store.visibility_timeout, emu.feed_store.max_batch) == (6.5, 9)


# --- the served emulator -----------------------------------------------------------------


def test_emulator_command_prints_urls_and_a_config_that_check_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = ("--app-id", "devapp", "--clock-offset", "-600")
    with emulator_process(tmp_path, *app) as (process, lines):
        banner = "\n".join(lines)
        assert "HTTPS  https://127.0.0.1:" in banner
        assert f"CA     {tmp_path / 'emulator-ca.pem'}" in banner
        assert "user   alice: IM with the bot" in banner
        assert "certificate login accepts" not in banner
        assert "app    devapp: may act on behalf of every user (OBO)" in banner
        assert "clock  -600 s from this machine's" in banner
        config = tmp_path / "symbot.toml"
        assert 'username = "devbot"' in config.read_text()
        assert 'app_id = "devapp"' in config.read_text()
        assert config.read_text().strip() in banner  # the printed TOML is the written one
        key = tmp_path / "devbot-private-key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600

        assert main(["check", "-c", str(config)]) == 0, capsys.readouterr().out  # clock 10 min off
        assert "app       devapp: OK" in capsys.readouterr().out
        assert main(["check", "-c", str(tmp_path / "symbot-cert.toml")]) == 0
        out = capsys.readouterr().out
        assert "login     session auth: OK" in out
        assert "login     key manager: OK" in out

        process.send_signal(signal.SIGINT)
        status, rest, _ = finish(process)
    assert status == 0
    assert "emulator stopped" in rest


@pytest.mark.parametrize("lenient", [False, True])
def test_lenient_content_type_lets_older_clients_log_in_with_a_certificate(
    tmp_path: Path, lenient: bool
) -> None:
    args = ["--lenient-content-type"] if lenient else []
    with emulator_process(tmp_path, *args) as (_, lines):
        https_url = next(line.split()[1] for line in lines if line.startswith("  HTTPS"))
        context = ssl.create_default_context(cafile=tmp_path / "emulator-ca.pem")
        context.load_cert_chain(tmp_path / "devbot.crt", tmp_path / "devbot.key")
        with httpx.Client(base_url=https_url, verify=context) as https:
            response = https.post(SESSION_CERT_LOGIN, headers={"content-type": "application/json"})
    assert response.status_code == (200 if lenient else 401), response.text
    assert ("certificate login accepts a Content-Type" in "\n".join(lines)) is lenient


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


# --- --chat from a pipe or a file --------------------------------------------------------


def test_chat_waiting_on_a_pipe_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    with emulator_process(tmp_path, "--chat", stdin=subprocess.PIPE) as (process, _):
        process.send_signal(signal.SIGINT)  # the pipe stays open: a read is pending
        status, out, err = finish(process)
    assert "Fatal Python error" not in err
    assert status == 0, err
    assert "emulator stopped" in out


def test_chat_relays_lines_from_a_pipe_as_they_come(tmp_path: Path) -> None:
    with emulator_process(tmp_path, "--chat", stdin=subprocess.PIPE) as (process, _):
        assert process.stdin is not None
        assert process.stdout is not None
        for text in ("hello from a pipe", "and again"):
            process.stdin.write(f"{text}\n")
            process.stdin.flush()
            for line in process.stdout:  # the emulator prints each message as it is sent
                if f"alice → devbot: {text}" in line:
                    break
        process.stdin.close()  # the end of input ends the chat, and the emulator
        status, out, err = finish(process)
    assert status == 0, err
    assert "emulator stopped" in out


def test_chat_from_a_file_sends_each_line_and_stops_at_its_end(tmp_path: Path) -> None:
    script = tmp_path / "lines.txt"
    script.write_text("first line\n\nsecond line")  # no newline at the very end
    with script.open() as stdin, emulator_process(tmp_path, "--chat", stdin=stdin) as (p, _):
        status, out, err = finish(p)
    assert status == 0, err
    assert "alice → devbot: first line" in out
    assert "alice → devbot: second line" in out
    assert "emulator stopped" in out
    assert "alice> " not in out  # no prompt when nobody types
