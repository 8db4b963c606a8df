"""`symbot demo`: a bot talking to people, on this machine, with no pod and no keys.

It starts the Symphony emulator on loopback, gives a demo bot account a fresh key pair,
serves `DeskBot` against it over HTTPS, plays a scripted conversation in an IM and a room,
and prints a transcript in which the
authentication lifecycle shows: the first login, a renewal before expiry, a server-side
revocation answered by exactly one re-login, and a deleted datafeed recovered. It ends by
itself with a summary. `interactive=True` lets a person type as alice instead.

May import anything in symbot: it is an application of the public API.
"""

from __future__ import annotations

import functools
import sys
from typing import TextIO

import anyio

from symbot.demo._bot import DeskBot
from symbot.demo._interactive import ReadLine, converse, read_stdin_line, relay_lines
from symbot.demo._script import Summary, play, print_summary, summarize
from symbot.demo._stage import Stage
from symbot.demo._transcript import Transcript

__all__ = ["DeskBot", "ReadLine", "Summary", "demo", "read_stdin_line", "relay_lines", "run_demo"]

TITLE = "symbot demo: DeskBot, two colleagues and a Symphony emulator on 127.0.0.1"


async def demo(
    out: TextIO,
    *,
    interactive: bool = False,
    read_line: ReadLine = read_stdin_line,
    token_lifetime: float = 5.0,
) -> Summary:
    """Run the demo, writing the transcript to `out`; returns its summary."""
    transcript = Transcript(out)
    transcript.plain(TITLE)
    transcript.plain()
    relogins = None
    async with Stage(transcript, token_lifetime=token_lifetime) as stage:
        if interactive:
            await converse(stage, read_line)
        else:
            relogins = await play(stage)
        await stage.wait_until(lambda: not stage.lost(), timeout=5)
        stage.transcript.heading(f"stopping {stage.bot.__class__.__name__}")
    summary = summarize(stage, relogins)
    print_summary(stage, summary)
    return summary


def run_demo(
    out: TextIO | None = None,
    *,
    interactive: bool = False,
    read_line: ReadLine = read_stdin_line,
    backend: str = "asyncio",
) -> int:
    """`symbot demo`: run it under `anyio.run`; exit status 0 when every promise held."""
    summary = anyio.run(
        functools.partial(demo, out or sys.stdout, interactive=interactive, read_line=read_line),
        backend=backend,
    )
    return 0 if summary.ok else 1
