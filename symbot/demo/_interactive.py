"""`symbot demo --interactive`: a person types as alice, in an IM with the bot.

Lines are read by a daemon thread (so Ctrl-C never waits for a pending `input()`), which
hands each one to the event loop and waits until it has been handled and the bot's answer
printed before showing the prompt again.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from symbot.demo._stage import BOT, Stage

__all__ = ["INSTRUCTIONS", "ReadLine", "converse", "relay_lines"]

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
        stage.delete_feeds()
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
