"""The demo's transcript: what people say, what the bot answers, and what symbot does.

Every line starts with the seconds since the demo began, so the order of events and the
time between them (a token renewal, a re-login) can be read off the page::

    [00.84] alice → #trading: @DeskBot /price AAPL
    [00.91] deskbot → #trading: AAPL 187.20
    [03.12]     auth      logged in (login #2: renewal before expiry, 12 ms)

symbot's own log records become indented lines (`TranscriptHandler`), after the same
redaction as every other log output (`symbot.logs.RedactingFilter`).
"""

from __future__ import annotations

import logging
import time
from typing import TextIO

from symbot.logs import RedactingFilter, component_of

__all__ = ["Transcript", "TranscriptHandler"]

_INDENT = " " * 8


class Transcript:
    """Writes timestamped lines to `out`; `start` is the epoch second shown as 00.00."""

    def __init__(self, out: TextIO, *, start: float | None = None) -> None:
        self.out = out
        self.start = time.time() if start is None else start
        self.shorten: list[str] = []
        """Prefixes (e.g. the emulator's URL) cut from log lines to keep them short."""

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
        except UnicodeEncodeError:  # a terminal that cannot show arrows still gets the text
            encoding = getattr(self.out, "encoding", None) or "ascii"
            self.out.write(text.encode(encoding, "replace").decode(encoding))
        self.out.flush()

    def _stamp(self, when: float | None) -> str:
        elapsed = max(0.0, (time.time() if when is None else when) - self.start)
        return f"[{elapsed:05.2f}]"

    def line(self, text: str, *, when: float | None = None) -> None:
        """A timestamped line; continuation lines of `text` are indented under it."""
        first, *rest = text.splitlines() or [""]
        head = f"{self._stamp(when)} {first}"
        pad = " " * (len(self._stamp(when)) + 1 + 2)
        self._write("\n".join([head, *(pad + part for part in rest)]) + "\n")

    def plain(self, text: str = "") -> None:
        """An untimed line (titles, the summary)."""
        self._write(text + "\n")

    def heading(self, title: str) -> None:
        self._write(f"\n── {title} " + "─" * max(3, 60 - len(title)) + "\n")

    def note(self, component: str, text: str, *, when: float | None = None) -> None:
        """What symbot or the stage did: `[03.12]     auth      logged in (login #2: …)`."""
        self.line(f"{_INDENT[:4]}{component:<9} {text}", when=when)

    def message(self, sender: str, place: str, text: str, *, when: float | None = None) -> None:
        """`[00.84] alice → #trading: /price AAPL`."""
        self.line(f"{sender} → {place}: {text}", when=when)


class TranscriptHandler(logging.Handler):
    """Puts symbot's log records into a transcript: INFO and above, plus the auth
    session's DEBUG line that tells a 401 is being answered with a refresh. The
    emulator's routine records stay out (it plays the server, not the bot)."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(logging.DEBUG)
        self.transcript = transcript
        self.addFilter(RedactingFilter())

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("symbot.emulator") and record.levelno < logging.WARNING:
            return False
        if record.levelno < logging.INFO and record.name != "symbot.auth":
            return False
        return super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        for prefix in self.transcript.shorten:
            text = text.replace(prefix, "")
        mark = "⚠ " if record.levelno >= logging.WARNING else ""
        self.transcript.note(component_of(record.name), mark + text, when=record.created)
