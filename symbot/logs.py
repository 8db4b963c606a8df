"""Logging that a person can read, or a machine can parse, and that never shows a secret.

symbot's modules log with `logging.getLogger(__name__)` and never configure logging
themselves: an application decides. `configure_logging()` is the one-call setup the
`symbot` command uses, and a bot may use too:

```python
from symbot.logs import configure_logging

configure_logging("INFO", identity="mybot@acme.symphony.com")
```

The readable format shows when, how bad, which part of symbot, who, and what::

    12:00:01 INFO  auth      mybot@acme.symphony.com: logged in (login #1)
    12:00:01 INFO  datafeed  mybot@acme.symphony.com: created datafeed 3f2a… (tag 'symbot-mybot')

`structured=True` writes one JSON object per line instead (`ts`, `level`, `logger`,
`component`, `who`, `message`, and `exception` when there is one), for log pipelines.

Both go through `RedactingFilter`, defence in depth behind the rule that symbot never logs
a secret: anything that looks like a token, a JWT or a PEM block is replaced by `***`
before any handler formats the record.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

from symbot.errors import redact

__all__ = [
    "JsonFormatter",
    "ReadableFormatter",
    "RedactingFilter",
    "component_of",
    "configure_logging",
]

_HANDLER_NAME = "symbot"


def component_of(logger_name: str) -> str:
    """The part of symbot a logger belongs to: `symbot.auth.session` → `auth`,
    `symbot.datafeed` → `datafeed`; loggers outside symbot keep their name."""
    parts = logger_name.split(".")
    if parts[0] != "symbot" or len(parts) == 1:
        return logger_name
    return parts[1]


class RedactingFilter(logging.Filter):
    """Scrubs token-, JWT- and PEM-looking text from a record's message and traceback.

    It rewrites the record in place (message merged with its arguments), so every handler
    after it, symbot's or the application's, sees the redacted text.
    """

    def __init__(self, identity: str | None = None) -> None:
        super().__init__()
        self.identity = identity

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if not hasattr(record, "who"):
            record.who = self.identity
        return True


class ReadableFormatter(logging.Formatter):
    """`12:00:01 INFO  auth      who: message` — short, aligned, one line per record
    (a traceback follows on its own lines)."""

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        who = getattr(record, "who", None)
        head = f"{clock} {record.levelname:<5} {component_of(record.name):<9} "
        line = head + (f"{who}: " if who else "") + record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO 8601, UTC), level, logger, component, who,
    message, and exception (the formatted traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        created = time.gmtime(record.created)
        millis = int(record.msecs)
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", created) + f".{millis:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "component": component_of(record.name),
            "message": record.getMessage(),
        }
        who = getattr(record, "who", None)
        if who:
            entry["who"] = who
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str | int = "INFO",
    *,
    structured: bool = False,
    identity: str | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send log records to `stream` (default stderr), readable or as JSON lines.

    `level` applies to symbot's loggers; other libraries stay at WARNING so httpx's
    per-request lines do not drown the bot's. `identity` (e.g. `bot@pod-host`) is shown as
    "who" on records that do not name anyone. Calling it again replaces the previous setup.
    Returns the installed handler.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter(identity))
    handler.setFormatter(JsonFormatter() if structured else ReadableFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("symbot").setLevel(numeric)
    return handler
