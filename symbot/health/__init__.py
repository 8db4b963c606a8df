"""What operators watch: probes and metrics, and the small HTTP server that answers them.

- `HealthServer` answers `GET` of a few paths on a socket, bounded against hostile clients
  (sizes, time, connections); a `Bot` runs one in its task group when `health.port` is set
  (`symbot run --health-port N`), with `/healthz`, `/readyz` and `/metrics`.
- The Prometheus text format: `Metric` families built with `counter()`, `gauge()`,
  `by_label()` and `histogram()` (over a `Histogram` of observations), written by
  `render()`. No client library: see `symbot.health._exposition` for why.

What a bot reports (readiness, the list of metrics) is the bot's own business:
`symbot.bot`. This package knows nothing about Symphony.

May import: `symbot.errors`, `symbot._lifecycle`.
"""

from symbot.health._exposition import (
    CONTENT_TYPE,
    DEFAULT_BUCKETS,
    Histogram,
    Labels,
    Metric,
    Sample,
    by_label,
    counter,
    gauge,
    histogram,
    render,
)
from symbot.health._server import (
    MAX_HEAD_BYTES,
    MAX_TARGET_BYTES,
    Answer,
    HealthServer,
    json_answer,
)

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "MAX_HEAD_BYTES",
    "MAX_TARGET_BYTES",
    "Answer",
    "HealthServer",
    "Histogram",
    "Labels",
    "Metric",
    "Sample",
    "by_label",
    "counter",
    "gauge",
    "histogram",
    "json_answer",
    "render",
]
