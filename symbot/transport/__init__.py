"""How bytes reach a Symphony deployment: HTTP clients per role, retries, TLS, and reading
what comes back.

`Transport` makes one httpx client per role (pod, agent, Key Manager, session auth) from
the configuration, each reading every answer through an `AnswerGuard` (size limit,
decompression); `send_with_retry` applies the retry policy to a call (counting retries and
malformed answers in the transport's `TransportStats`) and `retry_after` reads a server's
`Retry-After`; `read_json` decodes an answer (bounded depth, the shape the caller
expects) and `read_error_body` is the one reader of an error body; `tls_context` builds
every client TLS context, and `tls_refused`/`error_detail` say what a network failure was.
Nothing here knows about tokens or events.

May import: `symbot.config`, `symbot.errors`.
"""

from symbot.transport._clients import TRACE_HEADER, Transport, new_trace_id
from symbot.transport._guard import ACCEPT_ENCODING, ANSWER_LIMIT, ERROR_BODY_BYTES, AnswerGuard
from symbot.transport._json import (
    MAX_ANSWER_DEPTH,
    ErrorBody,
    JsonError,
    as_list,
    as_object,
    check_depth,
    malformed,
    parse_json,
    parse_json_at,
    read_error_body,
    read_json,
)
from symbot.transport._retry import (
    is_transient_status,
    parse_retry_after,
    retry_after,
    send_with_retry,
)
from symbot.transport._stats import (
    MALFORMED_ANSWER,
    NETWORK,
    RATE_LIMITED,
    SERVER_ERROR,
    TransportStats,
)
from symbot.transport._tls import (
    ClientIdentity,
    PrivateKey,
    error_detail,
    not_tls,
    tls_context,
    tls_refusal,
    tls_refused,
    tls_verdict,
)

__all__ = [
    "ACCEPT_ENCODING",
    "ANSWER_LIMIT",
    "ERROR_BODY_BYTES",
    "MALFORMED_ANSWER",
    "MAX_ANSWER_DEPTH",
    "NETWORK",
    "RATE_LIMITED",
    "SERVER_ERROR",
    "TRACE_HEADER",
    "AnswerGuard",
    "ClientIdentity",
    "ErrorBody",
    "JsonError",
    "PrivateKey",
    "Transport",
    "TransportStats",
    "as_list",
    "as_object",
    "check_depth",
    "error_detail",
    "is_transient_status",
    "malformed",
    "new_trace_id",
    "not_tls",
    "parse_json",
    "parse_json_at",
    "parse_retry_after",
    "read_error_body",
    "read_json",
    "retry_after",
    "send_with_retry",
    "tls_context",
    "tls_refusal",
    "tls_refused",
    "tls_verdict",
]
