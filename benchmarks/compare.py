"""symbot beside the official Symphony BDK for Python beside a raw httpx loop, in one run.

Every client runs the same workloads against the same served emulator, one after the other,
each run in its own process (benchmarks/bdk/harness.py). The BDK runs in its own virtualenv:
`nox -s bench` creates it, installs the latest symphony-bdk-python from the package registry
and passes its interpreter in SYMBOT_BENCH_BDK_PYTHON; without that variable the BDK column
says so. SYMBOT_BENCH_QUICK=1 shrinks the workloads (to try the harness, not for figures).

Prints one table (figures, and each client's ratio to symbot) and writes it, with how it
was measured, to benchmarks/results.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from attrs import frozen

from benchmarks.bdk.harness import (
    SENDER,
    STREAMS,
    Client,
    RunOutcome,
    Stage,
    make_workdir,
    run_workload,
)
from symbot.emulator import Emulator

__all__ = ["Settings", "main"]

RESULTS = Path(__file__).with_name("results.md")
BDK_PYTHON_ENV = "SYMBOT_BENCH_BDK_PYTHON"
BDK_PACKAGE = "symphony-bdk-python"
SYMBOT = "symbot"


@frozen
class Settings:
    storm_sizes: tuple[int, ...] = (10, 100, 1000)
    throughput_events: int = 5000
    ordered_events: int = 2000
    handler_seconds: float = 0.020
    throughput_repeat: int = 3

    @classmethod
    def from_env(cls) -> Settings:
        if os.environ.get("SYMBOT_BENCH_QUICK"):
            return cls(
                storm_sizes=(10, 100),
                throughput_events=1000,
                ordered_events=500,
                throughput_repeat=1,
            )
        return cls()


@frozen
class Measure:
    """A figure taken from one run; None means the run has no such figure."""

    label: str
    unit: str
    take: Callable[[RunOutcome], float | None]
    lower_is_better: bool = True
    digits: int = 2


@frozen
class Step:
    """A workload with its parameters, and the figures read from each client's run."""

    workload: str
    params: dict[str, Any]
    measures: tuple[Measure, ...]
    repeat: int = 1
    """Runs per client (interleaved between clients); the table shows their median."""


@frozen
class Row:
    """A table line: per client either a value or the reason there is none."""

    measure: Measure
    values: dict[str, float]
    reasons: dict[str, str]


def _result(outcome: RunOutcome, key: str) -> float | None:
    value = (outcome.result or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def _after_sending(outcome: RunOutcome) -> float | None:
    last = _result(outcome, "last_finished")
    return None if last is None or outcome.sent_at is None else last - outcome.sent_at


def _events_per_second(events: int) -> Callable[[RunOutcome], float | None]:
    def take(outcome: RunOutcome) -> float | None:
        seconds = _after_sending(outcome)
        return None if not seconds else events / seconds

    return take


def plan(settings: Settings) -> list[Step]:
    storms = [
        Step(
            "storm",
            {"calls": n},
            (
                Measure(
                    f"401 storm, {n:,} concurrent calls: logins (pod + KM)",
                    "",
                    lambda o: None if o.logins is None else float(o.logins),
                    digits=0,
                ),
                Measure(f"401 storm, {n:,} concurrent calls: wall time", "s", _storm_seconds),
            ),
        )
        for n in settings.storm_sizes
    ]
    events, ordered = settings.throughput_events, settings.ordered_events
    handler_ms = settings.handler_seconds * 1000
    slow = f"{ordered:,} events / {STREAMS} streams / {handler_ms:.0f} ms handlers"
    return [
        *storms,
        Step(
            "throughput",
            {"events": events},
            (
                Measure(
                    f"datafeed throughput, {events:,} events, no-op handler",
                    "events/s",
                    _events_per_second(events),
                    lower_is_better=False,
                    digits=0,
                ),
            ),
            repeat=settings.throughput_repeat,
        ),
        Step(
            "ordered",
            {"events": ordered, "handler_seconds": settings.handler_seconds},
            (
                Measure(f"{slow}: wall time", "s", _after_sending),
                Measure(f"{slow}: ordering violations", "", _violations, digits=0),
            ),
        ),
        Step(
            "stop",
            {},
            (
                Measure(
                    "stop latency while a long-poll is pending",
                    "s",
                    lambda o: _result(o, "stop_seconds"),
                    digits=3,
                ),
            ),
        ),
    ]


def _storm_seconds(outcome: RunOutcome) -> float | None:
    failed = _result(outcome, "failed")
    return None if failed else _result(outcome, "seconds")


def _violations(outcome: RunOutcome) -> float | None:
    return _result(outcome, "violations")


def _why_missing(outcome: RunOutcome) -> str:
    if outcome.error:
        return outcome.error
    failed = _result(outcome, "failed")
    if failed:
        first = (outcome.result or {}).get("first_failure")
        return f"{failed:.0f} calls failed, e.g. {first}"
    return "no figure in the result"


async def _bdk_client() -> tuple[Client | None, str]:
    """The BDK client, or None and why it cannot run."""
    python = os.environ.get(BDK_PYTHON_ENV)
    if not python:
        return None, f"not run: {BDK_PYTHON_ENV} is unset (`nox -s bench` sets it)"
    probe = f"import importlib.metadata as m; print(m.version({BDK_PACKAGE!r}))"
    try:
        found = await anyio.run_process([python, "-c", probe])
    except Exception as exc:  # OSError, CalledProcessError: say which
        return None, f"not run: no {BDK_PACKAGE} for {python} ({type(exc).__name__})"
    version = found.stdout.decode().strip()
    return Client.module(f"BDK {version}", python, "benchmarks.bdk.client_bdk"), ""


async def run_all(
    steps: Sequence[Step], clients: Sequence[Client]
) -> tuple[list[Row], list[RunOutcome]]:
    """Every step for every client, one run at a time; the rows and every run's outcome."""
    rows: list[Row] = []
    runs: list[RunOutcome] = []
    with make_workdir() as workdir:
        async with Emulator(strict_content_type=False) as emu:
            emu.add_user(SENDER)
            stage = Stage(emu, Path(workdir))
            for step in steps:
                outcomes: dict[str, list[RunOutcome]] = {client.name: [] for client in clients}
                for _ in range(step.repeat):
                    for client in clients:
                        started = time.monotonic()
                        outcome = await run_workload(stage, client, step.workload, **step.params)
                        took = time.monotonic() - started
                        state = f"failed: {outcome.error}" if outcome.error else "done"
                        print(
                            f"{step.workload} {step.params} {client.name}: {state} ({took:.1f} s)"
                        )
                        outcomes[client.name].append(outcome)
                        runs.append(outcome)
                rows.extend(_rows(step.measures, outcomes))
    return rows, runs


def _rows(measures: Sequence[Measure], outcomes: dict[str, list[RunOutcome]]) -> list[Row]:
    rows = []
    for measure in measures:
        values: dict[str, float] = {}
        reasons: dict[str, str] = {}
        for name, runs in outcomes.items():
            taken = [value for value in map(measure.take, runs) if value is not None]
            if taken:
                values[name] = statistics.median(taken)
            else:
                reasons[name] = _why_missing(runs[0])
        rows.append(Row(measure, values, reasons))
    return rows


def summary_rows(runs: Sequence[RunOutcome], names: Sequence[str]) -> list[Row]:
    """Cold start (median over a client's datafeed runs) and peak RSS (max over its runs)."""
    cold = Measure(
        "cold start to first handled event (median of its datafeed runs)", "s", lambda o: None
    )
    rss = Measure("peak RSS of the client process (max of runs)", "MiB", lambda o: None, digits=0)
    cold_values: dict[str, float] = {}
    rss_values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for name in names:
        mine = [run for run in runs if run.client == name]
        starts = [run.cold_start for run in mine if run.cold_start is not None]
        peaks = [run.rss_kib for run in mine if run.rss_kib is not None]
        if starts:
            cold_values[name] = statistics.median(starts)
        if peaks:
            rss_values[name] = max(peaks) / 1024
        if not starts or not peaks:
            reasons[name] = next((run.error for run in mine if run.error), "no successful run")
    return [
        Row(cold, cold_values, {n: r for n, r in reasons.items() if n not in cold_values}),
        Row(rss, rss_values, {n: r for n, r in reasons.items() if n not in rss_values}),
    ]


def _cell(row: Row, name: str, notes: list[str], not_run: Mapping[str, str]) -> str:
    if name in row.values:
        value = row.values[name]
        return f"{value:,.{row.measure.digits}f}"
    reason = not_run.get(name) or row.reasons.get(name, "not run")
    if reason not in notes:
        notes.append(reason)
    return f"n/a [{notes.index(reason) + 1}]"


def _ratio(row: Row, name: str) -> str:
    mine, base = row.values.get(name), row.values.get(SYMBOT)
    if mine is None or base is None:
        return "-"
    if base == 0:
        return "=" if mine == 0 else "inf"
    ratio = mine / base
    digits = 0 if ratio >= 100 else 1 if ratio >= 10 else 2
    return f"x{ratio:,.{digits}f}"


def render(rows: Sequence[Row], names: Sequence[str], not_run: Mapping[str, str]) -> str:
    """The table in Markdown (also how it prints), then the notes its n/a cells point to.
    `not_run`: the clients that could not be started at all, and why."""
    others = [n for n in names if n != SYMBOT]
    header = ["workload", "unit", *names, *(f"{n} / symbot" for n in others), "better"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes: list[str] = []
    for row in rows:
        cells = [
            row.measure.label,
            row.measure.unit,
            *(_cell(row, n, notes, not_run) for n in names),
            *(_ratio(row, n) for n in others),
            "lower" if row.measure.lower_is_better else "higher",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.extend(["", *(f"[{i}] {note}" for i, note in enumerate(notes, 1))] if notes else [])
    return "\n".join(lines)


def environment(names: Sequence[str]) -> str:
    return (
        f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"clients: {', '.join(names)}"
    )


async def main() -> None:
    settings = Settings.from_env()
    bdk, why_not = await _bdk_client()
    clients = [Client.module(SYMBOT, sys.executable, "benchmarks.bdk.client_symbot")]
    if bdk is not None:
        clients.append(bdk)
    clients.append(Client.module("raw httpx", sys.executable, "benchmarks.bdk.client_httpx"))
    names = [client.name for client in clients]
    rows, runs = await run_all(plan(settings), clients)
    not_run = {} if bdk is not None else {"BDK": why_not}
    columns = names if bdk is not None else [SYMBOT, "BDK", *names[1:]]
    table = render([*rows, *summary_rows(runs, names)], columns, not_run)
    print()
    print(table)
    RESULTS.write_text(_results_page(table, environment(names), settings))
    print(f"\nwritten to {RESULTS}")


def _results_page(table: str, environment: str, settings: Settings) -> str:
    quick = (
        " (QUICK MODE: reduced workloads, not for publication)" if settings != Settings() else ""
    )
    return f"""# symbot vs the official Symphony BDK for Python vs a raw httpx loop

Measured by `nox -s bench` on {environment}{quick}.
Same emulator (served on loopback HTTPS), same workloads, one client process per run, run one
after the other. Only ratios between columns of one run mean anything: absolute figures
depend on the machine. What each figure means, and why: docs/performance.md.

{table}
"""
