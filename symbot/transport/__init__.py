"""How bytes reach a Symphony deployment: HTTP clients per role, retries, and TLS.

`Transport` makes one httpx client per role (pod, agent, Key Manager, session auth) from
the configuration; `send_with_retry` applies the retry policy to a call; `tls_context`
builds every client TLS context, and `tls_refusal`/`error_detail` say what a network
failure was. Nothing here knows about tokens or events.

May import: `symbot.config`, `symbot.errors`.
"""

from symbot.transport._clients import TRACE_HEADER, Transport, new_trace_id
from symbot.transport._retry import is_transient_status, retry_after_seconds, send_with_retry
from symbot.transport._tls import (
    ClientIdentity,
    PrivateKey,
    error_detail,
    tls_context,
    tls_refusal,
    tls_refused,
)

__all__ = [
    "TRACE_HEADER",
    "ClientIdentity",
    "PrivateKey",
    "Transport",
    "error_detail",
    "is_transient_status",
    "new_trace_id",
    "retry_after_seconds",
    "send_with_retry",
    "tls_context",
    "tls_refusal",
    "tls_refused",
]
