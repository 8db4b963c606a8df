"""The Prometheus text exposition format (version 0.0.4), written by hand.

Why not the `prometheus-client` library: the format is a few lines per metric; the figures
already live in symbot's own stats objects (one truth each), so a library's registry of
process-wide collectors would be a second copy to keep in step, and an optional extra a
deployer must remember to install. Every scrape renders the current figures anew.

- `Metric` is one family: a name, its type (counter, gauge, histogram), a help line and its
  samples; `counter()`, `gauge()`, `by_label()` and `histogram()` build one from plain values.
- `Histogram` counts observations into fixed buckets (cumulative when rendered, as the
  format wants), cheaply enough for a handler's hot path.
- `render(metrics)` is the text a scraper reads, served as `CONTENT_TYPE`.

Names and label names are checked when a metric is built; label values and help texts are
escaped as the format says, so a value from elsewhere (a handler's name) cannot break a line.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from attrs import frozen

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "Histogram",
    "Labels",
    "Metric",
    "Sample",
    "by_label",
    "counter",
    "gauge",
    "histogram",
    "render",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""Seconds: from a handler that only computes (about a millisecond) to one that calls a
slow service, past the agent's 30 s visibility timeout."""

Labels = tuple[tuple[str, str], ...]
Kind = Literal["counter", "gauge", "histogram"]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class Histogram:
    """Observations counted into buckets: `counts[i]` holds those at most `bounds[i]` (and
    above the previous bound), the last one those above every bound. Not thread-safe: it is
    meant for one event loop."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float] = DEFAULT_BUCKETS) -> None:
        if (
            not bounds
            or any(not math.isfinite(b) for b in bounds)
            or list(bounds) != sorted(set(bounds))
        ):
            raise ValueError(f"histogram bounds must be finite and increasing, got {bounds!r}")
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at most that bound) per bucket, ending with +Inf."""
        total = 0
        buckets = []
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            total += count
            buckets.append((bound, total))
        return buckets


@frozen
class Sample:
    """One line: the family's name plus `suffix` (`_bucket`, `_sum`, `_count` for a
    histogram), its labels and its value."""

    value: float
    labels: Labels = ()
    suffix: str = ""


@frozen
class Metric:
    """One metric family: `# HELP`, `# TYPE`, then its samples."""

    name: str
    kind: Kind
    help: str
    samples: tuple[Sample, ...]

    def __attrs_post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a Prometheus metric name")
        for sample in self.samples:
            for label, _ in sample.labels:
                if not _LABEL.fullmatch(label) or label.startswith("__"):
                    raise ValueError(f"{label!r} is not a Prometheus label name")


def counter(name: str, help: str, value: float) -> Metric:
    """A counter of one value."""
    return Metric(name, "counter", help, (Sample(value),))


def gauge(name: str, help: str, value: float) -> Metric:
    """A gauge of one value (it goes up and down)."""
    return Metric(name, "gauge", help, (Sample(value),))


def by_label(kind: Kind, name: str, help: str, label: str, values: Mapping[str, float]) -> Metric:
    """A counter or gauge with one value per value of `label`
    (`by_label("counter", "x_total", "...", "kind", {"network": 3})`)."""
    return Metric(name, kind, help, tuple(Sample(v, ((label, k),)) for k, v in values.items()))


def histogram(name: str, help: str, label: str, values: Mapping[str, Histogram]) -> Metric:
    """A histogram family: buckets, sum and count for each value of `label`."""
    samples: list[Sample] = []
    for key, observed in values.items():
        labels: Labels = ((label, key),)
        for bound, count in observed.cumulative():
            samples.append(Sample(count, (*labels, ("le", _number(bound))), "_bucket"))
        samples.append(Sample(observed.sum, labels, "_sum"))
        samples.append(Sample(observed.count, labels, "_count"))
    return Metric(name, "histogram", help, tuple(samples))


def render(metrics: Iterable[Metric]) -> str:
    """The exposition text of `metrics`, in order, ending with a newline."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for sample in metric.samples:
            labels = ",".join(f'{name}="{_escape_value(value)}"' for name, value in sample.labels)
            shown = f"{{{labels}}}" if labels else ""
            lines.append(f"{metric.name}{sample.suffix}{shown} {_number(sample.value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if isinstance(value, int) or (
        math.isfinite(value) and value.is_integer() and abs(value) < 2**53
    ):
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _escape_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
