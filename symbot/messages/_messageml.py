"""Building MessageML that user text can never break.

`escape()`, `to_message_ml()`, and the `MessageML` fragment type with
`plain/bold/italic/code/pre/link/mention/document`, whose every text part is escaped. Only
`MessageML` values (and whole documents) are trusted markup.
"""

from __future__ import annotations

import re

__all__ = [
    "MessageML",
    "bold",
    "code",
    "document",
    "escape",
    "italic",
    "link",
    "markup",
    "mention",
    "plain",
    "pre",
    "to_message_ml",
]


# XML 1.0 cannot carry these at all, not even as character references: they are dropped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#39;",
        # `${...}` and `#{...}` are Freemarker templates when a message carries `data`.
        # Every `$` and `#` is escaped (not only before `{`) so that concatenating two escaped
        # strings can never form a template either.
        "$": "&#36;",
        "#": "&#35;",
        "\r": "&#13;",  # a raw CR would be normalised to LF by the XML parser
    }
)


def escape(text: str) -> str:
    """Escape `text` for use as MessageML text content or an attribute value.

    Escapes `& < > " '`, every `$` and `#` (Freemarker `${...}`/`#{...}` templates are
    expanded when a message is sent with `data`), and CR; drops the characters XML 1.0
    cannot represent (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
    The result parsed as XML gives back `text` exactly (minus those dropped characters).
    Newlines stay newlines: `plain()`/`to_message_ml()` turn them into `<br/>`.
    """
    if _XML_INVALID.search(text):
        text = _XML_INVALID.sub("", text)
    return text.translate(_ESCAPES)


class MessageML(str):
    """A fragment of MessageML markup that is safe by construction.

    Built only by this module's helpers, which escape every plain `str` part. Adding a plain
    `str` to a `MessageML` escapes the `str` (`bold("x") + "<b>"` shows `<b>` literally);
    adding two fragments keeps both. Any other `str` operation returns a plain `str`, which is
    treated as text again — the safe default.
    """

    __slots__ = ()

    def __add__(self, other: str) -> MessageML:
        return MessageML(str.__add__(self, _markup(other)))

    def __radd__(self, other: str) -> MessageML:
        return MessageML(str.__add__(_markup(other), self))


def _markup(part: str) -> str:
    """A part as markup: `MessageML` is kept, any other `str` is plain text."""
    return part if isinstance(part, MessageML) else plain(part)


def _join(parts: tuple[str, ...]) -> str:
    return "".join(_markup(part) for part in parts)


def plain(text: str) -> MessageML:
    """Plain text as a MessageML fragment: escaped, newlines as `<br/>`."""
    escaped = escape(text)
    if "\n" in escaped:
        escaped = escaped.replace("\n", "<br/>")
    return MessageML(escaped)


def bold(*parts: str) -> MessageML:
    """`<b>…</b>` around the parts (plain `str` parts are escaped)."""
    return MessageML(f"<b>{_join(parts)}</b>")


def italic(*parts: str) -> MessageML:
    """`<i>…</i>` around the parts (plain `str` parts are escaped)."""
    return MessageML(f"<i>{_join(parts)}</i>")


def code(text: str) -> MessageML:
    """Inline `<code>` with `text` escaped."""
    return MessageML(f"<code>{escape(text)}</code>")


def pre(text: str) -> MessageML:
    """A preformatted block (`<pre>`); newlines are kept as newlines."""
    return MessageML(f"<pre>{escape(text)}</pre>")


_LINK_SCHEMES = ("http://", "https://", "mailto:")


def link(url: str, text: str | None = None) -> MessageML:
    """`<a href="url">text</a>`; only http, https and mailto URLs are accepted (ValueError)."""
    if not url.lower().startswith(_LINK_SCHEMES):
        raise ValueError(f"link URL {url!r} must start with http://, https:// or mailto:")
    return MessageML(f'<a href="{escape(url)}">{_markup(text if text is not None else url)}</a>')


def mention(user_id: int) -> MessageML:
    """`<mention uid="…"/>`: Symphony renders the user's name and notifies them."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise TypeError(f"mention() takes a user id (int), not {type(user_id).__name__}")
    return MessageML(f'<mention uid="{user_id}"/>')


def document(*parts: str) -> MessageML:
    """A whole `<messageML>…</messageML>` document from parts (plain `str` parts escaped)."""
    return MessageML(f"<messageML>{_join(parts)}</messageML>")


_DOCUMENT_START = "<messageML>"


def markup(trusted: str) -> MessageML:
    """Mark `trusted` as MessageML written by the bot's author (a template, a whole
    `<messageML>` document): it is sent as it is. Never pass text that came from a user."""
    return MessageML(trusted)


def to_message_ml(content: str) -> str:
    """What to send for `content`.

    - a plain `str` is always text: escaped, newlines as `<br/>` — so echoing a user's words
      can never inject markup, even words that look like a `<messageML>` document;
    - a `MessageML` fragment (from the builders, or `markup()` for the author's own markup) is
      wrapped in `<messageML>…</messageML>`, or kept as it is if it is already a document.
    """
    if isinstance(content, MessageML):
        return content if content.lstrip().startswith(_DOCUMENT_START) else document(content)
    return f"{_DOCUMENT_START}{plain(content)}</messageML>"
