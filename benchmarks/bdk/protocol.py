"""What the harness and the client processes say to each other, and the bookkeeping they share.

Every client (the official BDK, symbot, a raw httpx loop) runs as its own process so that
start-up time and peak memory are its own. This module is imported both by the harness and by
the clients, including the BDK client, which runs in the BDK's virtualenv where neither symbot
nor its dependencies exist: so it uses the standard library only (dataclasses, not attrs).

The conversation is line-based:

- the harness passes a `Workload` as JSON in argv[1];
- the client writes JSON lines to stdout: `{"phase": "ready"}` (storm: logged in),
  `{"phase": "warm", "t": ...}` (datafeed: the warm-up event was handled), and finally
  `{"result": {...}, "rss_kib": ...}` or `{"error": "..."}`;
- the harness writes command lines to stdin: `go` (storm: tokens revoked, fire) and `stop`.

Times are `time.monotonic()`, which on Linux is one system-wide clock, so the harness can
subtract a client's timestamp from its own.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "WARMUP_TEXT",
    "EventMark",
    "OrderTracker",
    "Workload",
    "bdk_settings",
    "emit",
    "event_text",
    "peak_rss_kib",
    "read_command",
]

WARMUP_TEXT = "warmup"
"""The text of the event the harness injects until a client shows it is reading its feed."""

_MARK = re.compile(r"(warmup)|\be (\d+) (\d+)\b")

WORKLOADS = ("storm", "throughput", "ordered", "stop")


def event_text(stream: int, seq: int) -> str:
    """The text of workload event `seq` of stream number `stream` (what handlers parse back)."""
    return f"e {stream} {seq}"


@dataclass(frozen=True)
class Workload:
    """One client run: what to do, and where the emulator and the bot's credentials are.

    `workload` is one of "storm" (log in, then `calls` concurrent pod calls after the harness
    revoked the tokens), "throughput" (`events` no-op events), "ordered" (`events` events whose
    handlers take `handler_seconds`), "stop" (stop while a long-poll is pending).
    """

    workload: str
    base_url: str
    ca_bundle: str
    username: str
    private_key: str
    calls: int = 0
    events: int = 0
    handler_seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_argv(cls, argv: list[str]) -> Workload:
        if len(argv) != 2:
            raise SystemExit(f"usage: {argv[0]} '<workload JSON>'")
        workload = cls(**json.loads(argv[1]))
        if workload.workload not in WORKLOADS:
            raise SystemExit(f"unknown workload {workload.workload!r}; one of {WORKLOADS}")
        return workload


def bdk_settings(
    base_url: str,
    ca_bundle: str,
    username: str,
    *,
    private_key: str | None = None,
    certificate: str | None = None,
) -> dict[str, Any]:
    """The official BDK's configuration (the content of its config file) for a bot on the
    emulator: every role (pod, KM, session auth, agent) on the one origin `base_url`, its CA
    trusted, RSA login with `private_key` or certificate login with `certificate` (one PEM
    file holding the certificate and its key, as the BDK wants), datafeed v5 ("v2" to it)."""
    url = urlsplit(base_url)
    bot: dict[str, Any] = {"username": username}
    if private_key is not None:
        bot["privateKey"] = {"path": private_key}
    if certificate is not None:
        bot["certificate"] = {"path": certificate}
    return {
        "scheme": url.scheme,
        "host": url.hostname,
        "port": url.port,
        "ssl": {"trustStore": {"path": ca_bundle}},
        "bot": bot,
        "datafeed": {"version": "v2"},
    }


def emit(payload: dict[str, Any]) -> None:
    """Write one protocol line to stdout, flushed at once (the harness waits on it)."""
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def read_command() -> str:
    """Block until the harness writes a command line; "" when stdin is closed."""
    return sys.stdin.readline().strip()


def peak_rss_kib() -> int:
    """This process's peak resident set size so far, in KiB (Linux reports ru_maxrss in KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run_client(run: Callable[[Workload], dict[str, Any]]) -> None:
    """A client process's whole life: read the workload from argv, `run` it (the client's
    own event loop inside), and report the result or the error as the last protocol line."""
    spec = Workload.from_argv(sys.argv)
    try:
        outcome = run(spec)
    except Exception as exc:  # the harness reports it in the table
        emit({"error": f"{type(exc).__name__}: {exc}"[:500]})
        sys.exit(1)
    emit({"result": outcome, "rss_kib": peak_rss_kib()})


@dataclass(frozen=True)
class EventMark:
    """A workload event whose handling has begun."""

    stream: int
    seq: int


@dataclass
class OrderTracker:
    """Counts handled events, measures when the last one finished, and spots ordering faults.

    A handler calls `begin(text)` when it starts (None back: warm-up, duplicate or foreign
    event, nothing else to do) and `end(mark)` when it is finished. An event is an ordering
    violation when its handler starts while an earlier event of the same stream is still being
    handled, or after a later event of that stream has started: either way, a handler that
    replies would see the conversation out of order. Each event counts at most once.
    """

    expected: int
    on_warm: Callable[[], None]
    on_complete: Callable[[], None]
    handled: int = 0
    duplicates: int = 0
    violations: int = 0
    first_started: float | None = None
    last_finished: float | None = None
    warm_at: float | None = None
    _active: dict[int, int] = field(default_factory=dict)
    _highest_started: dict[int, int] = field(default_factory=dict)
    _seen: set[tuple[int, int]] = field(default_factory=set)

    def begin(self, text: str | None) -> EventMark | None:
        found = _MARK.search(text or "")
        if found is None:
            return None
        if found.group(1):
            if self.warm_at is None:
                self.warm_at = time.monotonic()
                self.on_warm()
            return None
        mark = EventMark(int(found.group(2)), int(found.group(3)))
        if (mark.stream, mark.seq) in self._seen:
            self.duplicates += 1
            return None
        self._seen.add((mark.stream, mark.seq))
        if self.first_started is None:
            self.first_started = time.monotonic()
        highest = self._highest_started.get(mark.stream, -1)
        if self._active.get(mark.stream, 0) > 0 or mark.seq < highest:
            self.violations += 1
        self._highest_started[mark.stream] = max(highest, mark.seq)
        self._active[mark.stream] = self._active.get(mark.stream, 0) + 1
        return mark

    def end(self, mark: EventMark) -> None:
        self._active[mark.stream] -= 1
        self.handled += 1
        if self.handled == self.expected:
            self.last_finished = time.monotonic()
            self.on_complete()

    def result(self) -> dict[str, Any]:
        return {
            "handled": self.handled,
            "duplicates": self.duplicates,
            "violations": self.violations,
            "first_started": self.first_started,
            "last_finished": self.last_finished,
        }
