"""The fidelity tier's own rules, checked without the BDK (`nox -s fidelity` runs the BDK):
every emulator route is proved by a step or known to be out of the BDK's reach, and a
failure is blamed on the side that caused it."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from fidelity.blame import failure, side_at_fault
from fidelity.harness import route_name, uncovered_routes
from fidelity.steps import NOT_CALLABLE, STEPS
from symbot.emulator import Emulator


def test_every_emulator_route_is_proved_by_a_step_or_out_of_the_bdks_reach() -> None:
    uncovered = uncovered_routes(Emulator().app.routes, STEPS, NOT_CALLABLE)
    assert uncovered == [], (
        "add a step to fidelity/steps.py for each (or an entry in NOT_CALLABLE saying why "
        "the BDK cannot call it)"
    )


def test_steps_name_only_routes_the_emulator_serves() -> None:
    served = {route_name(route) for route in Emulator().app.routes}
    for step in STEPS:
        assert set(step.routes) <= served, f"{step.name}: {set(step.routes) - served}"
        assert step.on in ("strict", "lenient")
    assert set(NOT_CALLABLE) <= served
    assert len({step.name for step in STEPS}) == len(STEPS)


class ApiException(Exception):
    """Shaped like the BDK's: the emulator's status and body."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"({status})")
        self.status = status
        self.body = body


class AuthUnauthorizedError(Exception):
    """Shaped like the BDK's: the answer in `.cause`."""

    def __init__(self, message: str, cause: Exception) -> None:
        super().__init__()
        self.message = message
        self.cause = cause


def raised_in(filename: str, function: str, exc: BaseException) -> BaseException:
    """`exc` as raised by a function `function` of the file `filename`."""
    namespace: dict[str, Any] = {}
    source = f"def {function}(exc):\n    raise exc\n"
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - a fixed snippet
    try:
        namespace[function](exc)
    except BaseException as caught:
        return caught
    raise AssertionError("unreachable")


BDK_FILE = "/venv/lib/python3.11/site-packages/symphony/bdk/core/auth/bot_authenticator.py"
API_CLIENT = "/venv/lib/python3.11/site-packages/symphony/bdk/gen/api_client.py"
PYDANTIC = "/venv/lib/python3.11/site-packages/pydantic/_internal/_validate_call.py"
EXECUTOR = "/repo/fidelity/client_bdk.py"

CASES = {
    "an error status": (ApiException(400, '{"code": 400}'), BDK_FILE, "call", "emulator"),
    "a wrapped 401": (
        AuthUnauthorizedError("Unauthorized", ApiException(401, "no")), BDK_FILE, "retry",
        "emulator",
    ),
    "a refused connection": (ConnectionRefusedError(111, "refused"), BDK_FILE, "x", "emulator"),
    "a TLS failure": (ssl.SSLError(1, "CERTIFICATE_VERIFY_FAILED"), BDK_FILE, "x", "emulator"),
    "a timeout": (TimeoutError(), BDK_FILE, "x", "emulator"),
    "a model that rejects the answer": (
        ValueError("1 validation error for V2Error"), API_CLIENT, "deserialize", "emulator",
    ),
    "a bug in the BDK": (TypeError("'NoneType' is not iterable"), BDK_FILE, "refresh", "BDK"),
    "an unknown request": (KeyError("rsa"), EXECUTOR, "call", "harness"),
    "bad arguments from the harness": (
        ValueError("1 validation error for send_message"), PYDANTIC, "wrapper", "harness",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_failure_is_blamed_on_the_side_that_caused_it(case: str) -> None:
    exc, filename, function, side = CASES[case]
    assert side_at_fault(raised_in(filename, function, exc)) == side


def test_a_failure_carries_what_the_emulator_answered() -> None:
    wrapped = AuthUnauthorizedError("Unauthorized", ApiException(401, "takes no Content-Type"))
    answer = failure(raised_in(BDK_FILE, "retry", wrapped))
    assert answer["ok"] is False
    assert (answer["side"], answer["status"], answer["body"]) == (
        "emulator",
        401,
        "takes no Content-Type",
    )
    assert answer["error"].startswith("AuthUnauthorizedError: Unauthorized (caused by Api")
