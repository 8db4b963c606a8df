"""The Prometheus text format symbot writes: what a Prometheus server reads back, exactly."""

from __future__ import annotations

import math

import pytest

from symbot.health import Histogram, Metric, Sample, by_label, counter, gauge, histogram, render

from .support import parse_prometheus


def test_counters_gauges_and_labels_read_back_as_written() -> None:
    text = render(
        [
            counter("app_events_total", "Events read", 12),
            gauge("app_age_seconds", "Age", 0.25),
            by_label("counter", "app_retries_total", "Retries", "kind", {"network": 3, "5xx": 0}),
        ]
    )
    scrape = parse_prometheus(text)
    assert scrape.value("app_events_total") == 12
    assert scrape.value("app_age_seconds") == 0.25
    assert scrape.values("app_retries_total", "kind") == {"network": 3, "5xx": 0}
    assert "# HELP app_events_total Events read\n# TYPE app_events_total counter\n" in text


def test_label_values_and_help_texts_from_elsewhere_cannot_break_a_line() -> None:
    hostile = 'Bot.echo"} 1\nevil_total 99 \\'
    text = render(
        [by_label("counter", "app_calls_total", "a help\nwith a line break \\", "handler",
                  {hostile: 1})]
    )  # fmt: skip
    scrape = parse_prometheus(text)
    assert scrape.values("app_calls_total", "handler") == {hostile: 1}
    assert "evil_total" not in scrape.families
    assert len(text.splitlines()) == 3


def test_a_histogram_counts_each_observation_in_the_first_bucket_that_holds_it() -> None:
    observed = Histogram((0.01, 0.1, 1.0))
    for seconds in (0.001, 0.01, 0.05, 0.1, 0.5, 2.0, 60.0):
        observed.observe(seconds)
    scrape = parse_prometheus(
        render([histogram("h_seconds", "Durations", "handler", {"a": observed})])
    )
    buckets = {
        bound: scrape.value("h_seconds_bucket", handler="a", le=bound)
        for bound in ("0.01", "0.1", "1", "+Inf")
    }
    assert buckets == {"0.01": 2, "0.1": 4, "1": 5, "+Inf": 7}  # le: at most the bound
    assert scrape.value("h_seconds_count", handler="a") == 7 == observed.count
    assert scrape.value("h_seconds_sum", handler="a") == pytest.approx(62.661)


@pytest.mark.parametrize("bounds", [(), (1.0, 0.5), (0.1, 0.1), (0.1, math.inf), (math.nan,)])
def test_histogram_bounds_must_be_finite_and_increasing(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="finite and increasing"):
        Histogram(bounds)


def test_names_that_prometheus_refuses_are_refused_when_built() -> None:
    with pytest.raises(ValueError, match="metric name"):
        counter("2fast_total", "", 1)
    with pytest.raises(ValueError, match="label name"):
        Metric("ok_total", "counter", "", (Sample(1, (("bad-label", "x"),)),))
    with pytest.raises(ValueError, match="label name"):
        by_label("counter", "ok_total", "", "__reserved", {"x": 1})


def test_numbers_are_written_as_prometheus_reads_them() -> None:
    text = render(
        [
            gauge("a", "", 3.0),
            gauge("b", "", math.inf),
            gauge("c", "", math.nan),
            gauge("d", "", 1e-7),
        ]
    )
    for line in ("a 3", "b +Inf", "c NaN", "d 1e-07"):
        assert f"\n{line}\n" in text
    parse_prometheus(text)
