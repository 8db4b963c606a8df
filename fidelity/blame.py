"""Who is at fault when the BDK fails: the emulator, the BDK, or the harness.

Standard library only: it runs inside the BDK's virtualenv (fidelity/client_bdk.py), and is
tested in symbot's (tests/test_fidelity.py) with exceptions shaped like the BDK's.

- "emulator": the emulator answered an error status (the BDK's `ApiException`, possibly
  wrapped, as `AuthUnauthorizedError` wraps it in `.cause`), the connection broke (refused,
  dropped, TLS), or the BDK's OpenAPI models rejected its answer (raised under the BDK's
  `deserialize`);
- "harness": the executor refused the request, or the BDK's argument checks refused what
  the harness passed (nothing of the BDK's code ran);
- "BDK": anything else raised inside, or below, the BDK's own code.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

__all__ = ["EXECUTOR", "failure", "side_at_fault"]

EXECUTOR = "fidelity/client_bdk.py"
_BDK_CODE = "/symphony/bdk/"
_CONNECTION_MODULES = ("aiohttp.client_exceptions",)


def failure(exc: BaseException) -> dict[str, Any]:
    """The executor's answer for `exc`: who is at fault, and what the emulator said."""
    cause = _answer_of(exc)
    status = getattr(cause, "status", None)
    body = getattr(cause, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    described = f"{type(exc).__name__}: {_first_line(getattr(exc, 'message', None) or exc)}"
    if cause is not exc:
        described += f" (caused by {type(cause).__name__}: {_first_line(cause)})"
    return {
        "ok": False,
        "side": side_at_fault(exc),
        "error": described[:2000],
        "status": status if isinstance(status, int) else None,
        "body": body[:2000] if isinstance(body, str) else None,
    }


def side_at_fault(exc: BaseException) -> str:
    cause = _answer_of(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(getattr(cause, "status", None), int):
        return "emulator"  # it answered with an error status
    if isinstance(cause, OSError | asyncio.TimeoutError):  # ssl.SSLError is an OSError
        return "emulator"  # a refused, dropped or broken connection
    if type(cause).__module__ in _CONNECTION_MODULES:
        return "emulator"
    if any(frame.name in ("deserialize", "response_deserialize") for frame in frames):
        return "emulator"  # an answer the BDK's OpenAPI models reject
    if frames and frames[-1].filename.replace("\\", "/").endswith(EXECUTOR):
        return "harness"  # the executor refused the request
    if any(_BDK_CODE in frame.filename.replace("\\", "/") for frame in frames):
        return "BDK"  # raised inside the BDK's code, or below it
    return "harness"  # e.g. the BDK's argument checks refused what the harness passed


def _answer_of(exc: BaseException) -> BaseException:
    """The exception carrying the emulator's answer: `exc`, or what it wraps in `.cause`."""
    cause: BaseException = exc
    while isinstance(getattr(cause, "cause", None), BaseException):
        cause = getattr(cause, "cause")  # noqa: B009 - the BDK's own attribute, untyped
    return cause


def _first_line(value: object) -> str:
    """The first line of a message (the BDK's ApiException adds headers and the body,
    which the answer carries on their own)."""
    return str(value).strip().split("\n", 1)[0]
