"""What a bot tells its operators: whether it is ready (`BotHealth`), and its metrics.

Readiness, as `Bot.health()` assesses it:

- not serving, starting (logging in, opening the datafeed) or stopping: not ready;
- serving: ready when the datafeed completed a read within `health.max_read_age` seconds
  (counted from when reading began, until a first read completes) and the session is "ok"
  (`AuthSession.health`: not riding out a failing re-login). Each failed condition adds a
  reason in words, with the figures that explain it.

The metrics are read from where each figure is counted, never copied: the dispatcher's
`DispatchStats`, the datafeed loop's `FeedStats`, the session's `LoginStats` and health, the
transport's `TransportStats`; `bot_metrics()` lists them, and docs/operating.md says what
each one means. Nothing here holds a secret: the only text from elsewhere is the session's
last error, which `SessionHealth` keeps redacted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

from attrs import asdict, frozen

from symbot.auth import LoginStats, SessionHealth, SessionState
from symbot.bot._dispatch import DispatchStats
from symbot.datafeed import FeedStats
from symbot.health import (
    CONTENT_TYPE,
    Answer,
    Metric,
    by_label,
    counter,
    gauge,
    histogram,
    json_answer,
    render,
)
from symbot.transport import MALFORMED_ANSWER, NETWORK, RATE_LIMITED, SERVER_ERROR, TransportStats

__all__ = ["BotHealth", "Phase", "Status", "assess", "bot_metrics", "health_routes"]

Phase = Literal["not serving", "starting", "serving", "stopping"]
Status = Literal["not serving", "starting", "ready", "unhealthy", "stopping"]

_RETRY_KINDS = (SERVER_ERROR, RATE_LIMITED, NETWORK, MALFORMED_ANSWER)


@frozen(kw_only=True)
class BotHealth:
    """A bot's readiness at one instant; see the module docstring.

    `status` is "ready", "unhealthy" (serving, but see `reasons`), "starting", "stopping" or
    "not serving"; `last_read_age` is how long ago (s) the datafeed last completed a read
    (or began reading, before its first), None when it is not reading; `session` is the
    session's own health while the bot serves."""

    status: Status
    reasons: tuple[str, ...]
    last_read_age: float | None
    max_read_age: float
    session: SessionHealth | None

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def to_json(self) -> dict[str, Any]:
        """The `/readyz` body: plain JSON values, no secret."""
        return {
            "status": self.status,
            "ready": self.ready,
            "reasons": list(self.reasons),
            "datafeed": {
                "last_read_age": _rounded(self.last_read_age),
                "max_read_age": self.max_read_age,
            },
            "login": None if self.session is None else _session_json(self.session),
        }


def assess(
    phase: Phase,
    *,
    last_read_at: float | None,
    reading_since: float | None,
    max_read_age: float,
    session: SessionHealth | None,
    now: float | None = None,
) -> BotHealth:
    """The readiness of a bot in `phase`; times are `time.monotonic()` values."""
    now = time.monotonic() if now is None else now
    since = max((t for t in (last_read_at, reading_since) if t is not None), default=None)
    age = None if since is None or phase == "not serving" else max(0.0, now - since)
    reasons: list[str] = []
    if phase != "serving":
        reasons.append(f"the bot is {phase}")
    if phase == "serving" and age is not None and age > max_read_age:
        reasons.append(
            f"the datafeed has not completed a read for {age:.0f} s "
            f"(health.max_read_age = {max_read_age:g} s)"
        )
    if session is not None and not session.ok and phase != "not serving":
        reasons.append(_session_trouble(session))
    status: Status = "ready" if not reasons else "unhealthy" if phase == "serving" else phase
    return BotHealth(
        status=status,
        reasons=tuple(reasons),
        last_read_age=age,
        max_read_age=max_read_age,
        session=session,
    )


def _session_trouble(session: SessionHealth) -> str:
    if session.state == "not logged in":
        return "the session has not logged in yet"
    said = f": {session.last_error}" if session.last_error else ""
    if session.state == "unavailable":
        return f"re-logins are failing ({session.attempts} attempt(s) so far){said}"
    return f"the session failed for good{said}"


def _session_json(session: SessionHealth) -> dict[str, Any]:
    shown = asdict(session)
    shown["retry_in"] = _rounded(session.retry_in)
    return shown


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def health_routes(
    health: Callable[[], BotHealth], metrics: Callable[[], str]
) -> dict[str, Callable[[], Answer]]:
    """The paths a bot's `HealthServer` answers: `/healthz` (200 while the process serves
    them), `/readyz` (200 when ready, else 503, with the reasons) and `/metrics`."""

    def alive() -> Answer:
        return json_answer(200, json.dumps({"alive": True, "status": health().status}) + "\n")

    def ready() -> Answer:
        found = health()
        return json_answer(200 if found.ready else 503, json.dumps(found.to_json()) + "\n")

    def scrape() -> Answer:
        return Answer(200, CONTENT_TYPE, metrics().encode())

    return {"/healthz": alive, "/readyz": ready, "/metrics": scrape}


_FEED_COUNTERS = (
    ("symbot_datafeed_reads_total", "Datafeed reads sent", "reads"),
    ("symbot_datafeed_failed_reads_total", "Datafeed reads that failed", "failed_reads"),
    ("symbot_datafeed_events_read_total", "Events the datafeed read", "events"),
    ("symbot_datafeed_batches_total", "Batches of events the datafeed read", "batches"),
    ("symbot_datafeed_batches_unacknowledged_total", "Batches left for redelivery",
     "batches_unacknowledged"),
    ("symbot_datafeed_feeds_created_total", "Datafeeds created (the first, then each "
     "recreation)", "feeds_created"),
    ("symbot_datafeed_feeds_reused_total", "Datafeeds found and reused at start",
     "feeds_reused"),
    ("symbot_datafeed_stale_feeds_deleted_total", "Stale datafeeds deleted at the agent's "
     "limit", "stale_feeds_deleted"),
    ("symbot_datafeed_auth_refreshes_total", "Re-logins forced by a 401 that outlived the "
     "replay", "auth_refreshes"),
)  # fmt: skip
"""(metric, help, `FeedStats` field) of each datafeed counter."""

_DISPATCH_COUNTERS = (
    ("symbot_events_handled_total", "Events whose handlers all ran", "events_handled"),
    ("symbot_events_duplicate_total", "Events dropped as duplicates", "duplicates_dropped"),
    ("symbot_events_own_total", "Events the bot itself caused, skipped", "own_events_ignored"),
    ("symbot_events_malformed_total", "Events that could not be parsed, skipped",
     "malformed_events"),
    ("symbot_handler_calls_total", "Handler calls", "handler_calls"),
    ("symbot_handler_errors_total", "Handler calls that raised", "handler_errors"),
    ("symbot_handler_redeliveries_total", "Handler calls that asked for redelivery",
     "redeliveries"),
    ("symbot_batches_slow_total", "Batches handled slower than the visibility timeout",
     "slow_batches"),
)  # fmt: skip
"""(metric, help, `DispatchStats` field) of each dispatcher counter."""


def bot_metrics(
    health: BotHealth,
    *,
    dispatch: DispatchStats,
    feed: FeedStats,
    logins: LoginStats,
    transport: TransportStats,
) -> str:
    """Every metric of a bot, in the Prometheus text format (docs/operating.md lists them)."""
    metrics = [
        gauge("symbot_ready", "1 when the bot is ready, else 0", int(health.ready)),
        *_counters(_FEED_COUNTERS, feed),
    ]
    if health.last_read_age is not None:
        metrics.append(gauge("symbot_datafeed_last_read_age_seconds",
                             "Seconds since the datafeed last completed a read",
                             health.last_read_age))  # fmt: skip
    metrics += [
        *_counters(_DISPATCH_COUNTERS, dispatch),
        histogram("symbot_handler_duration_seconds", "How long handler calls took, by handler",
                  "handler", dispatch.handler_seconds),
        by_label("counter", "symbot_logins_total", "Successful logins, by reason", "reason",
                 logins.logins),
        counter("symbot_login_failures_total", "Logins that failed", logins.failures),
        counter("symbot_unauthorized_total", "401 answers to calls carrying the bot's tokens",
                logins.unauthorized),
        *_session_state(health.session),
        by_label("counter", "symbot_retries_total", "HTTP calls tried again, by why", "kind",
                 {**dict.fromkeys(_RETRY_KINDS, 0), **transport.retries}),
        counter("symbot_malformed_answers_total", "Answers that could not be used",
                transport.malformed_answers),
    ]  # fmt: skip
    return render(metrics)


def _counters(table: tuple[tuple[str, str, str], ...], stats: object) -> list[Metric]:
    return [counter(name, text, getattr(stats, field)) for name, text, field in table]


def _session_state(session: SessionHealth | None) -> list[Metric]:
    if session is None:
        return []
    states: Mapping[str, float] = {
        state: float(state == session.state) for state in get_args(SessionState)
    }
    return [by_label("gauge", "symbot_session_state", "1 for the session's state", "state", states)]
