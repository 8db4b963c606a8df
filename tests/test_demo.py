"""`symbot demo`: the scripted conversation shows the whole authentication lifecycle and
ends by itself with a summary; `--interactive` relays typed lines as alice."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from symbot.demo import run_demo

BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])


@BACKENDS
def test_the_scripted_demo_shows_the_auth_lifecycle_and_loses_nothing(backend: str) -> None:
    out = io.StringIO()
    assert run_demo(out, backend=backend) == 0, out.getvalue()
    transcript = out.getvalue()

    assert "auth      logged in (login #1: first login" in transcript
    assert "deskbot → alice: AAPL 187.20" in transcript
    assert "bob → #trading: @DeskBot /price MSFT" in transcript
    assert "deskbot → #trading: MSFT 411.35" in transcript
    assert "Usage: /convert <amount: float>" in transcript
    assert "Welcome, Carol Diaz!" in transcript
    assert "renewed with no 401: 401s served meanwhile: 0" in transcript
    assert transcript.count("answered 401; refreshing tokens") == 1
    assert "1 401(s), answered by 1 pod + 1 key manager login(s)" in transcript
    assert "is gone" in transcript
    assert transcript.count("created datafeed") == 2
    assert "deskbot → alice: NVDA 121.44" in transcript
    assert "events lost       0" in transcript
    assert "every promise held" in transcript
    assert "-----BEGIN" not in transcript
    assert "eyJ" not in transcript  # no JWT, no token


def typed(*lines: str) -> Callable[[str], str]:
    """A `read_line` that types `lines`, then Ctrl-D."""
    remaining: Iterator[str] = iter(lines)

    def read_line(prompt: str) -> str:
        assert prompt == "alice> "
        try:
            return next(remaining)
        except StopIteration:
            raise EOFError from None

    return read_line


@BACKENDS
def test_interactive_demo_relays_what_alice_types_and_the_admin_controls(backend: str) -> None:
    out = io.StringIO()
    read_line = typed("/price aapl", "", "#trading /convert 10 GBP USD", "!revoke", "/quote TSLA",
                      "!stats", "!nonsense", "/quit", "never read")  # fmt: skip
    assert run_demo(out, interactive=True, read_line=read_line, backend=backend) == 0
    transcript = out.getvalue()

    assert "You are alice, in an IM with deskbot" in transcript
    assert "deskbot → alice: AAPL 187.20" in transcript
    assert "alice → #trading: @DeskBot /convert 10 GBP USD" in transcript
    assert "deskbot → #trading: 10.00 GBP = 12.66 USD" in transcript
    assert "an administrator revokes every token deskbot holds" in transcript
    assert "deskbot → alice: TSLA 248.50" in transcript
    assert "401s: 1; messages lost: 0" in transcript
    assert "unknown command; use !revoke" in transcript
    assert "never read" not in transcript
    assert "events lost       0" in transcript


def test_interactive_demo_ends_at_end_of_input() -> None:
    out = io.StringIO()
    assert run_demo(out, interactive=True, read_line=typed()) == 0
    assert "messages handled  0 of 0" in out.getvalue()


def test_the_readme_demo_command_finishes_by_itself_with_status_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "symbot.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "events lost       0" in result.stdout


DEMO = [sys.executable, "-m", "symbot.cli", "demo", "--interactive"]
AFTER_DELETE = "!delete-feed\n/price aapl\n!stats\n"
"""A message typed right after `!delete-feed`, when the bot has no datafeed for an instant."""


def test_piped_input_loses_no_message_sent_right_after_a_deleted_feed() -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter and command
        DEMO, input=AFTER_DELETE, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deskbot → alice: AAPL 187.20" in result.stdout
    assert "events lost       0" in result.stdout
    assert "alice> " not in result.stdout  # no prompt when nobody types


def test_input_from_a_file_is_played_line_by_line(tmp_path: Path) -> None:
    script = tmp_path / "alice.txt"
    script.write_text(AFTER_DELETE + "/quote TSLA")  # the last line has no newline
    with script.open() as stdin:
        result = subprocess.run(  # noqa: S603 - our own interpreter and command
            DEMO, stdin=stdin, capture_output=True, text=True, timeout=120, check=False
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deskbot → alice: AAPL 187.20" in result.stdout
    assert "deskbot → alice: TSLA 248.50" in result.stdout
    assert "events lost       0" in result.stdout


def test_ctrl_c_while_waiting_on_a_pipe_exits_cleanly() -> None:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        DEMO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        for line in process.stdout:
            if "/quit" in line:  # the last line of the instructions: input is being read
                break
        process.send_signal(signal.SIGINT)
        out, err = process.stdout.read(), process.stderr.read()
        status = process.wait(timeout=30)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    assert "Fatal Python error" not in err
    assert status == 130, out + err  # the conventional status of a Ctrl-C
