"""Every exception symbot raises, in one hierarchy.

```
SymbotError                      anything symbot raises on purpose
├── ConfigError                  bad configuration: names the field and the fix
├── KeyLoadError                 a key, certificate or PKCS#12 file that cannot be used
├── AuthenticationError          a login endpoint refused the bot's credentials (not retried)
├── InvalidJwtError              a client extension's user JWT refused: expired, foreign, malformed
├── ApiError                     a Symphony endpoint answered with an error status
│   ├── NotFoundError            no such user, stream, room or message (404, or 400/204 on a lookup)
│   ├── ForbiddenError           403: the bot is not a member, or lacks the entitlement
│   ├── MessageRejectedError     400 on message create: malformed MessageML
│   ├── ComplianceBlockedError   451 on message create: blocked by an information barrier/DLP
│   ├── RateLimitedError         429 after retries were exhausted
│   └── MalformedAnswerError     an answer symbot cannot use: too large, truncated, not JSON,
│                                too deep, the wrong shape (retried like a 5xx first)
├── NetworkError                 the network failed (after retries): unreachable, timed out,
│                                TLS refused
├── EventParseError              a datafeed event that cannot be understood (logged, skipped)
└── CommandUsageError            a command's arguments did not parse (the bot replies usage)

Redeliver                        raised by a handler to leave its batch unacknowledged
```

Messages never contain a token, key or password: callers pass only names, URLs and
status codes, and `redact()` scrubs anything that looks like a token, or a URL's password,
from text that came from elsewhere.
"""

from __future__ import annotations

import re

__all__ = [
    "MALFORMED_KINDS",
    "ApiError",
    "AuthenticationError",
    "CommandUsageError",
    "ComplianceBlockedError",
    "ConfigError",
    "EventParseError",
    "ForbiddenError",
    "InvalidJwtError",
    "KeyLoadError",
    "MalformedAnswerError",
    "MessageRejectedError",
    "NetworkError",
    "NotFoundError",
    "RateLimitedError",
    "Redeliver",
    "SymbotError",
    "redact",
]

_SECRETISH = re.compile(
    r"(?i)((?:session|keymanager|key_manager|authorization)?token[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]*"  # JWTs
    r"|-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----"  # PEM blocks
)


_URL_PASSWORD = re.compile(r"(?<=://)([^/?#\s@:]*):[^/?#\s]*@")  # scheme://user:password@


def redact(text: str) -> str:
    """Replace anything in `text` that looks like a token, JWT or PEM block with `***`, and
    the password of a URL (`http://user:***@proxy:3128`)."""

    def _sub(match: re.Match[str]) -> str:
        prefix = match.group(1)
        return f"{prefix}***" if prefix else "***"

    return _URL_PASSWORD.sub(r"\1:***@", _SECRETISH.sub(_sub, text))


class SymbotError(Exception):
    """Base class of every error symbot raises on purpose."""


class ConfigError(SymbotError):
    """A configuration value is missing or wrong. `field` names it; the message says the fix."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"config field {field!r}: {problem}. Fix: {fix}")


class KeyLoadError(SymbotError):
    """A private key, certificate or PKCS#12 file could not be read or is unsuitable."""

    def __init__(self, source: str, problem: str, fix: str = "") -> None:
        self.source = source
        self.problem = problem
        self.fix = fix
        super().__init__(f"{source}: {problem}" + (f". Fix: {fix}" if fix else ""))


class AuthenticationError(SymbotError):
    """A login endpoint refused the credentials. This is configuration, not bad luck:
    it is raised after exactly one attempt.

    `status` is None when the refusal came at the TLS handshake. `server_message` is what
    the server said in its refusal, redacted, or None when it said nothing.
    """

    def __init__(
        self,
        username: str,
        endpoint: str,
        status: int | None,
        hint: str,
        *,
        server_message: str | None = None,
    ) -> None:
        self.username = username
        self.endpoint = endpoint
        self.status = status
        self.hint = hint
        said = redact(server_message or "").strip()
        self.server_message = said or None
        answered = f"answered {status}" if status is not None else "refused the connection"
        if said and said not in hint:
            answered += f": {said}"
        super().__init__(
            f"login of user {username!r} refused: {endpoint} {answered}. Check: {hint}"
        )


class InvalidJwtError(SymbotError):
    """A user JWT from a client extension was refused (`App.validate_jwt`): `reason` says
    why (expired, not signed by the pod's certificate, issued for another app, malformed).
    The message never contains the JWT."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the user JWT was refused: {reason}")


class ApiError(SymbotError):
    """A Symphony endpoint answered with an error status (after any retries)."""

    def __init__(
        self, method: str, url: str, status: int, message: str = "", code: int | None = None
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.code = code
        self.server_message = redact(message)
        super().__init__(self._describe())

    def _describe(self) -> str:
        detail = f": {self.server_message}" if self.server_message else ""
        return f"{self.method} {self.url} answered {self.status}{detail}"


class _RefusalAbout(ApiError):
    """An error about one `subject` ("stream 'abc'", "user 42") a call named."""

    def __init__(self, method: str, url: str, status: int, subject: str, message: str = "") -> None:
        self.subject = subject
        super().__init__(method, url, status, message)

    def _said(self) -> str:
        return f" (the server said: {self.server_message})" if self.server_message else ""


class NotFoundError(_RefusalAbout):
    """What a call names does not exist, or the bot cannot see it; `subject` says what
    ("stream 'abc'"). Raised for a 404, for a 204 ("nothing") answer to a lookup of one
    object, and for a 400 to a lookup by id: Symphony answers 400 for an id it does not know
    (the server's own words are kept in `server_message`)."""

    def _describe(self) -> str:
        answer = f"answered {self.status}" if self.status >= 300 else "found nothing"
        return f"no such {self.subject}: {self.method} {self.url} {answer}{self._said()}"


class ForbiddenError(_RefusalAbout):
    """403 about `subject`: the bot is not a member of the stream, not an owner of the room,
    or its account lacks the entitlement (a pod administrator grants it)."""

    def _describe(self) -> str:
        return (
            f"not allowed on {self.subject}: the bot is not a member, or not entitled: "
            f"{self.method} {self.url} answered {self.status}{self._said()}"
        )


class MessageRejectedError(ApiError):
    """400 on message create: the MessageML was refused (malformed, unknown tag, ...)."""


class ComplianceBlockedError(ApiError):
    """451 on message create: an information barrier or DLP policy blocked the message."""


class RateLimitedError(ApiError):
    """429 that outlived the retry policy."""


class MalformedAnswerError(ApiError):
    """An answer symbot cannot use, whatever its status said: a body over the size limit
    (`limits.max_answer_bytes`), cut short, in an unknown content encoding, not JSON, nested
    deeper than `MAX_ANSWER_DEPTH`, or not the shape the endpoint promises (`null` where an
    object belongs).

    A hostile or broken server (or a proxy in between) is handled as a 5xx is: the call is
    retried with backoff, and this error comes out only once the retry policy gives up (the
    datafeed loop never gives up). `kind` names the fault (one of `MALFORMED_KINDS`),
    `detail` says what was seen; neither holds any of the body's content.
    """

    def __init__(self, method: str, url: str, status: int, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(method, url, status, f"malformed answer ({kind}): {detail}")


MALFORMED_KINDS = (
    "too large",  # the body passed limits.max_answer_bytes
    "truncated",  # the body ended before the length its headers announced
    "undecodable",  # an unknown content encoding, or a compressed stream that is corrupt
    "not JSON",  # the body does not parse as JSON (an HTML page from a proxy, ...)
    "too deep",  # JSON nested deeper than MAX_ANSWER_DEPTH
    "unexpected shape",  # valid JSON, but not what the endpoint answers (null, a list, ...)
)
"""Every `MalformedAnswerError.kind`, in the order a body is checked."""


class NetworkError(SymbotError):
    """The network failed after retries: the host is unreachable, refused, or timed out, or
    TLS refused the connection (the message names which TLS failure, and its fix)."""


class EventParseError(SymbotError):
    """A datafeed event could not be understood; the loop logs it with its id and skips it."""

    def __init__(self, event_id: str | None, problem: str) -> None:
        self.event_id = event_id
        self.problem = problem
        super().__init__(f"malformed event {event_id or '<no id>'}: {problem}")


class CommandUsageError(SymbotError):
    """A command's arguments did not parse; `usage` is the line the bot replies with."""

    def __init__(self, command: str, problem: str, usage: str) -> None:
        self.command = command
        self.problem = problem
        self.usage = usage
        super().__init__(f"{command}: {problem}. Usage: {usage}")


class Redeliver(Exception):
    """Raise from a handler to leave the batch unacknowledged so the event comes back."""
