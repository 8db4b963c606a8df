"""Helpers for the health tests: a strict reader of the Prometheus text format, a bot served
with its health port, and plain HTTP over a real socket.

The reader follows the text format (version 0.0.4) and refuses what a Prometheus server
would refuse: a sample without its `# TYPE`, a counter sample not named `*_total`, a
histogram without its `+Inf` bucket or whose buckets are not cumulative, an unescaped
quote, a value that is not a number, a family declared twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import httpx
from attrs import evolve, frozen

from symbot.bot import Bot
from symbot.config import BotConfig, DatafeedConfig, HealthConfig, RetryPolicy
from symbot.emulator import Emulator
from symbot.testing import BotHarness

FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05, max_attempts=4, max_retry_after=1.0)

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
_KINDS = ("counter", "gauge", "histogram", "summary", "untyped")


@frozen
class Family:
    name: str
    kind: str
    help: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scrape:
    """A parsed exposition: `value(name, **labels)` reads one sample."""

    def __init__(self, families: dict[str, Family]) -> None:
        self.families = families

    def value(self, name: str, **labels: str) -> float:
        family = self._family_of(name)
        key = (name, frozenset(labels.items()))
        if key not in family.samples:
            raise AssertionError(f"no sample {name}{labels}; has {sorted(family.samples)}")
        return family.samples[key]

    def values(self, name: str, label: str) -> dict[str, float]:
        """Every sample of `name`, by the value of its `label`."""
        family = self._family_of(name)
        return {
            dict(labels)[label]: value
            for (sample, labels), value in family.samples.items()
            if sample == name
        }

    def _family_of(self, name: str) -> Family:
        for family in self.families.values():
            if name == family.name or name.removeprefix(family.name) in (
                "_bucket",
                "_sum",
                "_count",
            ):
                return family
        raise AssertionError(f"no metric family for {name}; have {sorted(self.families)}")


def parse_prometheus(text: str) -> Scrape:
    """Read `text` strictly (see the module docstring); AssertionError on the first fault."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families: dict[str, Family] = {}
    helps: dict[str, str] = {}
    current: Family | None = None
    for number, line in enumerate(text.splitlines(), 1):
        where = f"line {number}: {line!r}"
        if line.startswith("# HELP "):
            name, _, text_ = line[7:].partition(" ")
            assert name not in helps, f"{where}: a second HELP"
            helps[name] = text_
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in _KINDS, f"{where}: unknown type"
            assert name not in families, f"{where}: a family declared twice"
            current = families[name] = Family(name, kind, helps.get(name, ""), {})
        elif line.startswith("#") or not line.strip():
            continue
        else:
            assert current is not None, f"{where}: a sample before any TYPE"
            match = _SAMPLE.fullmatch(line)
            assert match, f"{where}: not a sample line"
            name, labels_text, value_text = match.groups()
            suffix = name.removeprefix(current.name)
            allowed = {"histogram": ("_bucket", "_sum", "_count")}.get(current.kind, ("",))
            assert name.startswith(current.name), f"{where}: not of the family declared"
            assert suffix in allowed, f"{where}: not a sample name of a {current.kind}"
            if current.kind == "counter":
                assert name.endswith("_total"), f"{where}: a counter not named *_total"
            labels = _labels(labels_text or "", where)
            value = float(value_text)  # "+Inf", "NaN" and numbers; anything else raises
            if current.kind == "counter":
                assert value >= 0, f"{where}: a negative counter"
                assert not math.isnan(value), f"{where}: a counter that is not a number"
            key = (name, frozenset(labels.items()))
            assert key not in current.samples, f"{where}: a sample repeated"
            current.samples[key] = value
    for family in families.values():
        if family.kind == "histogram":
            _check_histogram(family)
    return Scrape(families)


def _labels(text: str, where: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        assert match, f"{where}: bad labels at {text[position:]!r}"
        raw = match.group(2)
        labels[match.group(1)] = re.sub(
            r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), raw
        )
        position = match.end()
    return labels


def _check_histogram(family: Family) -> None:
    series: dict[frozenset[tuple[str, str]], list[tuple[float, float]]] = {}
    for (name, labels), value in family.samples.items():
        if name.endswith("_bucket"):
            bound = dict(labels)["le"]
            rest = frozenset(item for item in labels if item[0] != "le")
            series.setdefault(rest, []).append((float(bound), value))
    for rest, buckets in series.items():
        buckets.sort()
        counts = [count for _, count in buckets]
        assert buckets[-1][0] == math.inf, f"{family.name}{dict(rest)}: no +Inf bucket"
        assert counts == sorted(counts), f"{family.name}{dict(rest)}: buckets not cumulative"
        total = family.samples[(f"{family.name}_count", rest)]
        assert total == counts[-1], f"{family.name}{dict(rest)}: _count is not the +Inf bucket"
        assert (f"{family.name}_sum", rest) in family.samples


def health_harness(
    bot_class: Callable[..., Bot],
    *,
    emulator: Emulator | None = None,
    max_read_age: float = 120.0,
    read_timeout: float = 45.0,
    retry: RetryPolicy = FAST_RETRY,
    more: Callable[[BotConfig], BotConfig] | None = None,
) -> BotHarness[Any]:
    """A `BotHarness` whose bot serves its health port on a free loopback port."""

    def configure(config: BotConfig) -> BotConfig:
        config = evolve(
            config,
            retry=retry,
            datafeed=DatafeedConfig(read_timeout=read_timeout),
            health=HealthConfig(port=0, max_read_age=max_read_age),
        )
        return more(config) if more is not None else config

    return BotHarness(bot_class, emulator=emulator, configure=configure)


async def get(url: str) -> httpx.Response:
    """One GET over a real socket, with a client of its own."""
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


async def readiness(bot: Bot) -> tuple[int, Mapping[str, Any]]:
    """`GET /readyz`: the status and the JSON body."""
    assert bot.health_url is not None
    response = await get(f"{bot.health_url}/readyz")
    return response.status_code, response.json()


async def scrape(bot: Bot) -> Scrape:
    """`GET /metrics`, parsed strictly."""
    assert bot.health_url is not None
    response = await get(f"{bot.health_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse_prometheus(response.text)


async def until_readiness(bot: Bot, status: int, timeout: float = 10.0) -> Mapping[str, Any]:  # noqa: ASYNC109
    """Poll `/readyz` until it answers `status`; its last body."""
    with anyio.fail_after(timeout):
        while True:
            found, body = await readiness(bot)
            if found == status:
                return body
            await anyio.sleep(0.02)
