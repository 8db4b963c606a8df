"""Fault injection in-process: statuses with Retry-After, delays, drops, counts, probabilities."""

from __future__ import annotations

import anyio
import httpx
import pytest

from symbot.emulator import Emulator

from .support import BOT, GUARD, HEALTH, KeyPairs, RsaLogin

pytestmark = pytest.mark.anyio


async def test_status_fault_answers_the_next_count_requests_then_stops(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=503, retry_after=2, count=2)

    statuses = []
    for _ in range(3):
        response = await http.get(HEALTH)
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["retry-after"] == "2"
            assert response.json()["code"] == 503

    assert statuses == [503, 503, 200]
    assert emu.counters.faults_injected == 2
    assert emu.counters.requests == 3


async def test_rate_limit_fault_carries_a_fractional_retry_after(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=429, retry_after=0.5)

    response = await http.get(HEALTH)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "0.5"


async def test_status_fault_without_retry_after_sends_none(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=502)

    response = await http.get(HEALTH)

    assert response.status_code == 502
    assert "retry-after" not in response.headers


async def test_faults_apply_before_authentication(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.fault("/pod/", status=500)

    assert (await http.get("/pod/v2/sessioninfo")).status_code == 500
    assert (await http.get("/pod/v2/sessioninfo")).status_code == 401


async def test_injected_401_counts_as_unauthorized(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.fault(HEALTH, status=401)

    assert (await http.get(HEALTH)).status_code == 401
    assert emu.counters.unauthorized == 1


async def test_drop_fault_looks_like_a_dropped_connection(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, drop=True)

    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(HEALTH)
    assert (await http.get(HEALTH)).status_code == 200
    assert emu.counters.faults_injected == 1


async def test_delay_fault_holds_the_request_back(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.fault(HEALTH, delay=60.0)

    with anyio.move_on_after(0.2) as scope:
        await http.get(HEALTH)

    assert scope.cancelled_caught  # still held back by the 60 s delay
    with anyio.fail_after(GUARD):
        assert (await http.get(HEALTH)).status_code == 200  # the rule was used up


async def test_delay_only_fault_then_serves_the_request_normally(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, delay=0.01)

    with anyio.fail_after(GUARD):
        response = await http.get(HEALTH)

    assert response.status_code == 200
    assert emu.counters.faults_injected == 0  # delayed, but answered normally


async def test_delay_then_status(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.fault(HEALTH, delay=0.01, status=504)

    with anyio.fail_after(GUARD):
        assert (await http.get(HEALTH)).status_code == 504


async def test_method_filter_leaves_other_methods_alone(
    emu: Emulator, http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)
    emu.fault("/agent/v5/datafeeds", method="post", status=500)

    assert (await http.get("/agent/v5/datafeeds", headers=headers)).status_code == 200
    assert (await http.post("/agent/v5/datafeeds", headers=headers)).status_code == 500
    assert (await http.post("/agent/v5/datafeeds", headers=headers)).status_code == 201


async def test_regex_path_matches_only_what_it_describes(
    emu: Emulator, http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)
    feed_id = (await http.post("/agent/v5/datafeeds", headers=headers)).json()["id"]
    emu.fault(r"/agent/v5/datafeeds/[^/]+/read$", status=503, count=1)

    assert (await http.get("/agent/v5/datafeeds", headers=headers)).status_code == 200
    read = f"/agent/v5/datafeeds/{feed_id}/read"
    emu.inject_event({"id": "e1", "type": "MESSAGESENT", "timestamp": 1}, to=[BOT])
    assert (await http.post(read, headers=headers, json={"ackId": ""})).status_code == 503
    response = await http.post(read, headers=headers, json={"ackId": ""})
    assert response.status_code == 200
    assert [event["id"] for event in response.json()["events"]] == ["e1"]


async def test_plain_path_matches_as_a_prefix(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.fault("/agent", status=500, count=5)

    assert (await http.get(HEALTH)).status_code == 500
    assert (await http.get("/pod/v2/sessioninfo")).status_code == 401


async def test_probability_one_faults_every_request_until_cleared(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=503, probability=1.0)

    for _ in range(5):
        assert (await http.get(HEALTH)).status_code == 503
    emu.clear_faults()
    assert (await http.get(HEALTH)).status_code == 200


async def test_probability_faults_some_requests_and_not_others(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=500, probability=0.5)

    statuses = [(await http.get(HEALTH)).status_code for _ in range(200)]

    assert 40 < statuses.count(500) < 160  # binomial(200, 0.5): far outside is ~impossible
    assert statuses.count(500) + statuses.count(200) == 200


async def test_rules_fire_in_the_order_they_were_added(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.fault(HEALTH, status=500)
    emu.fault(HEALTH, status=503)

    statuses = [(await http.get(HEALTH)).status_code for _ in range(3)]

    assert statuses == [500, 503, 200]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"status": 500, "drop": True},
        {"status": 42},
        {"delay": -1.0, "status": 500},
        {"retry_after": 1.0, "drop": True},
        {"status": 500, "count": 0},
        {"status": 500, "probability": 0.0},
        {"status": 500, "probability": 1.5},
    ],
)
def test_a_fault_that_makes_no_sense_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        Emulator().fault(HEALTH, **kwargs)  # type: ignore[arg-type]


def test_a_fault_with_an_invalid_regex_is_refused() -> None:
    with pytest.raises(ValueError, match="regex"):
        Emulator().fault("/agent/(", status=500)
