"""Retry-After as RFC 9110 defines it, and every oddity a server (or proxy) sends instead.

Finding 8: one `Retry-After: 1000000000` (or `inf`) on a 429/503 to a read made the bot wait
for good. Now delay-seconds and HTTP-dates are honoured up to `retry.max_retry_after`
(default: `retry.maximum`), a cap that bites is a WARNING, and anything unreadable (negative,
NaN, infinite, garbage) falls back on symbot's own backoff.
"""

from __future__ import annotations

import email.utils
import logging
import time

import httpx
import pytest

from symbot.config import RetryPolicy
from symbot.emulator._keys import KeyPair
from symbot.transport import parse_retry_after, retry_after

from .support import (
    BOT,
    CREATE,
    HOSTILE_RETRY,
    PERSON,
    READ,
    SESSIONINFO,
    ServedBot,
    faults_served,
    serving,
    still_serving,
)

NOW = 1_700_000_000.0
FUTURE = "Fri, 31 Dec 9999 23:59:59 GMT"
CAPPED = ["1000000000", "99999999999999", FUTURE]
IGNORED = ["inf", "Infinity", "nan", "-5", "1e9", "garbage", "", "0x10", "5 s", "Mon, 99 Foo"]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),  # not RFC 9110's delay-seconds, but sent by some servers: harmless
        ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),  # IMF-fixdate
        ("Tuesday, 14-Nov-23 22:13:30 GMT", 10.0),  # obsolete RFC 850 format
        ("Tue Nov 14 22:13:30 2023", 10.0),  # obsolete asctime format
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),  # a date already past: retry now
    ],
)
def test_delay_seconds_and_http_dates_are_read(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("value", IGNORED)
def test_unreadable_values_mean_no_retry_after(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


def _answer(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(503, headers=headers, request=httpx.Request("GET", "https://pod/x"))


def test_an_http_date_is_measured_on_the_servers_clock() -> None:
    """A server whose clock is a year behind ours asks for 5 s by date: 5 s, not 0."""
    server_now = time.time() - 365 * 86400
    headers = {
        "Date": email.utils.formatdate(server_now, usegmt=True),
        "Retry-After": email.utils.formatdate(server_now + 5, usegmt=True),
    }
    assert retry_after(_answer(headers), RetryPolicy()) == pytest.approx(5.0, abs=1.0)


@pytest.mark.parametrize("value", CAPPED)
def test_a_cap_that_bites_is_a_warning(value: str, caplog: pytest.LogCaptureFixture) -> None:
    policy = RetryPolicy(maximum=30.0)
    with caplog.at_level(logging.WARNING, "symbot.transport"):
        assert retry_after(_answer({"Retry-After": value}), policy) == 30.0
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "GET https://pod/x" in record.getMessage()
    assert "waiting at most 30 s" in record.getMessage()


def test_the_cap_is_configurable_and_within_it_nothing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = RetryPolicy(maximum=30.0, max_retry_after=120.0)
    with caplog.at_level(logging.WARNING, "symbot.transport"):
        assert retry_after(_answer({"Retry-After": "100"}), policy) == 100.0
        assert retry_after(_answer({"Retry-After": "500"}), policy) == 120.0
    assert len(caplog.records) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("value", CAPPED + IGNORED)
async def test_a_read_with_any_retry_after_is_retried_and_the_next_event_handled(
    key: KeyPair, value: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(key) as (emu, bot), ServedBot(bot) as running:
        await still_serving(emu, bot, running)
        with caplog.at_level(logging.INFO, "symbot"):
            emu.fault(READ, status=status, count=2, headers=[("Retry-After", value)])
            await faults_served(emu, 2)
            await still_serving(emu, bot, running)
    capped = [r for r in caplog.records if "waiting at most" in r.getMessage()]
    assert len(capped) == (2 if value in CAPPED else 0), [r.getMessage() for r in caplog.records]
    if capped:
        assert all(r.levelno == logging.WARNING for r in capped)
        assert f"at most {HOSTILE_RETRY.maximum:g} s" in capped[0].getMessage()


@pytest.mark.anyio
async def test_a_huge_retry_after_on_calls_at_start_up_and_on_sends_is_capped(
    key: KeyPair,
) -> None:
    async with serving(key) as (emu, bot):
        emu.fault(SESSIONINFO, status=429, count=2, retry_after=1e9)
        async with ServedBot(bot, start_timeout=30) as running:
            emu.fault(CREATE, status=429, count=2, retry_after="1000000000")
            im = emu.create_im(BOT, PERSON)
            emu.send(PERSON, im, "reply through the limit")
            await still_serving(emu, bot, running)
            await faults_served(emu, 4)
        replies = [m.text for m in emu.sent_messages() if m.sender == BOT]
        assert replies == ["ack reply through the limit"]
