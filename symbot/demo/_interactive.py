"""`symbot demo --interactive`: a person types as alice, in an IM with the bot.

Lines are read by a daemon thread (so Ctrl-C never waits for a pending read), which hands
each one to the event loop and waits until it has been handled and the bot's answer printed
before reading the next: typed, piped or redirected from a file, every line gets its turn.

The thread reads standard input with `read_stdin_line`, straight from the file descriptor:
`input()` on a pipe or a file holds the lock of `sys.stdin`'s buffer while it waits, and a
daemon thread still holding it when the interpreter shuts down (Ctrl-C with a pipe that stays
open) aborts the process with "Fatal Python error" (exit 134).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from symbot.demo._stage import BOT, Stage

__all__ = ["INSTRUCTIONS", "ReadLine", "converse", "read_stdin_line", "relay_lines"]

ReadLine = Callable[[str], str]
"""`read_line(prompt) -> line`, raising EOFError at the end (like `input`)."""

INSTRUCTIONS = f"""
You are alice, in an IM with {BOT}. Type a message and press Enter (try /help).
  #trading <text>   say it in the room #trading, mentioning the bot
  !revoke           the pod revokes the bot's tokens: watch the single re-login
  !delete-feed      the agent deletes the bot's datafeed: watch it come back
  !stats            what the emulator has counted so far
  /quit             end the demo (Ctrl-D too)
"""

PROMPT = "alice> "
FEED_RECOVERY_TIMEOUT = 10.0
"""Seconds `!delete-feed` waits for the bot's new datafeed before taking the next line."""


class _StdinLines:
    """Lines of standard input read with `os.read`, which holds no Python lock while it
    waits; the prompt is shown only to a person at a terminal (not into a pipe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = ""
        self._ended = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, prompt: str) -> str:
        with self._lock:
            if _is_terminal(0):
                sys.stdout.write(prompt)
                sys.stdout.flush()
            while "\n" not in self._buffer and not self._ended:
                try:
                    chunk = os.read(0, 4096)
                except OSError:  # no standard input at all
                    chunk = b""
                self._buffer += self._decoder.decode(chunk, final=not chunk)
                self._ended = not chunk
            if not self._buffer:
                raise EOFError
            line, newline, self._buffer = self._buffer.partition("\n")
            return line.removesuffix("\r") if newline else line


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


read_stdin_line: ReadLine = _StdinLines()
"""`input()` for the reader thread: the next line of standard input (EOFError at its end)."""


async def converse(stage: Stage, read_line: ReadLine) -> None:
    """Relay typed lines until `/quit` or end of input."""
    for line in INSTRUCTIONS.strip("\n").splitlines():
        stage.transcript.plain(line)
    await relay_lines(read_line, PROMPT, functools.partial(_handle, stage))


async def relay_lines(
    read_line: ReadLine, prompt: str, handle: Callable[[str | None], Coroutine[Any, Any, bool]]
) -> None:
    """Read lines in a daemon thread and `await handle(line)` each in the event loop (None
    at end of input), prompting again only once it returned; stop when it returns False."""
    finished = anyio.Event()
    token = anyio.lowlevel.current_token()

    def reader() -> None:
        try:
            while True:
                try:
                    line: str | None = read_line(prompt)
                except EOFError:
                    line = None
                if not anyio.from_thread.run(handle, line, token=token) or line is None:
                    break
        finally:
            with contextlib.suppress(anyio.RunFinishedError):  # the event loop ended first
                anyio.from_thread.run_sync(finished.set, token=token)

    threading.Thread(target=reader, name="symbot input", daemon=True).start()
    await finished.wait()


async def _handle(stage: Stage, line: str | None) -> bool:
    """Act on one typed line; False when the demo should end."""
    text = (line or "").strip()
    if line is None or text in ("/quit", "/exit"):
        return False
    if not text:
        return True
    if text.startswith("!"):
        await _admin(stage, text)
        return True
    stream_id, mention = stage.im, False
    if text.startswith("#trading"):
        stream_id, mention, text = stage.room, True, text.removeprefix("#trading").strip()
    before = stage.bot_messages(stream_id)
    await stage.say("alice", stream_id, text, mention_bot=mention, expect_reply=False)
    await stage.wait_until(lambda: stage.bot_messages(stream_id) > before, timeout=3)
    return True


async def _admin(stage: Stage, command: str) -> None:
    note, emu = stage.transcript.note, stage.emulator
    if command == "!revoke":
        emu.revoke_tokens(BOT)
        note("pod", f"an administrator revokes every token {BOT} holds; say something")
    elif command == "!delete-feed":
        deleted = stage.delete_feeds()
        # The bot sees the deletion on its next read and creates a new feed; a message sent
        # before that would find no feed and be lost, as on a real agent: wait for it.
        recovered = await stage.wait_until(
            lambda: any(feed.feed_id not in deleted for feed in emu.feeds(BOT)),
            timeout=FEED_RECOVERY_TIMEOUT,
        )
        if not recovered:
            note("demo", f"⚠ {BOT} has no datafeed after {FEED_RECOVERY_TIMEOUT:g} s")
    elif command == "!stats":
        await stage.wait_until(lambda: not stage.lost(), timeout=2)  # handlers still running
        counts = stage.counts()
        note(
            "demo",
            f"logins: {counts.pod_logins} pod + {counts.km_logins} key manager; "
            f"401s: {counts.unauthorized}; messages lost: {len(stage.lost())}",
        )
    else:
        note("demo", "unknown command; use !revoke, !delete-feed or !stats")
