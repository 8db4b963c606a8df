"""The authenticated client of one bot account: `SymphonyClient`.

It puts together a `symbot.transport.Transport` (HTTP per role) and a `symbot.auth`
session (tokens), and offers `request()` with the retry policy and Symphony's errors, and
`session_info()`.

May import: `symbot.auth`, `symbot.transport`, `symbot.config`, `symbot.errors`.
"""

from symbot.client._client import SessionInfo, SymphonyClient, api_error

__all__ = ["SessionInfo", "SymphonyClient", "api_error"]
