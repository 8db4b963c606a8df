"""Received messages, safe MessageML building, and PresentationML → plain text.

Three jobs, all pure (no network):

- `Message`: a message the bot received (parsed from a V4Message by `symbot.events`), with
  its plain `text`, EntityJSON `data`, mentioned user ids, and `reply()`, which goes through
  a *replier* the dispatcher binds (`with_replier`), so this module never touches HTTP.
- Building MessageML that user text can never break: `escape()`, `to_message_ml()`, and the
  `MessageML` fragment type with `plain/bold/italic/code/pre/link/mention/document`, whose
  every text part is escaped. Only `MessageML` values (and whole documents) are trusted markup.
- `presentation_to_text()`: what a human reads, from the PresentationML Symphony delivers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from html import unescape
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from attrs import Factory, evolve, field, frozen

if TYPE_CHECKING:
    from symbot.events import Stream, User

__all__ = [
    "MENTION_ENTITY_TYPE",
    "Message",
    "MessageML",
    "Replier",
    "bold",
    "code",
    "document",
    "escape",
    "italic",
    "link",
    "markup",
    "mention",
    "mention_texts",
    "mentions_from_data",
    "parse_entity_json",
    "plain",
    "pre",
    "presentation_to_text",
    "render_presentation",
    "to_message_ml",
]

logger = logging.getLogger(__name__)

MENTION_ENTITY_TYPE = "com.symphony.user.mention"
_USER_ID_TYPE = "com.symphony.user.userId"

Replier = Callable[[str, str, "Mapping[str, Any] | None"], Awaitable["Message | None"]]
"""`await replier(stream_id, message_ml, data)` sends MessageML into a stream (bound by the
dispatcher); it returns the sent `Message`, or None if the sender does not parse the answer."""


# ---------------------------------------------------------------------------------------------
# Escaping and building MessageML


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


# ---------------------------------------------------------------------------------------------
# PresentationML → text

_BLOCK_TAGS = frozenset(
    {"div", "p", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "hr", "pre"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "header", "footer", "section"}
    | {"article", "card", "form"}
)
_CELL_TAGS = frozenset(("td", "th"))
_SKIPPED_TAGS = frozenset(("script", "style", "head", "title"))
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_SIMPLE = re.compile(r"\s*<div\b[^<>]*>([^<>\x00\x01]*)</div>\s*", re.ASCII)
_TAG = re.compile(r"<[^>]*>")
_MARKERS_OFF = str.maketrans({"\x00": None, "\x01": None})


class _TextRenderer(HTMLParser):
    """Collects the visible text: blocks and `<br>` make newlines, entity spans are recorded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.pre_depth = 0
        self.skip_depth = 0
        self.entity_texts: dict[str, str] = {}
        self._open_spans: list[tuple[str | None, int, int]] = []  # entity id, line, offset

    def newline(self, *, soft: bool) -> None:
        text = "".join(self.line)
        self.line = []
        if not soft or text.strip():
            self.lines.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag == "br":
            self.newline(soft=False)
        elif tag in _BLOCK_TAGS:
            self.newline(soft=True)
            if tag == "pre":
                self.pre_depth += 1
        elif tag in _CELL_TAGS:
            self.line.append(" ")
        elif tag == "span":
            entity_id = dict(attrs).get("data-entity-id")
            self._open_spans.append((entity_id, len(self.lines), len(self.line)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.newline(soft=False)
        elif tag in _BLOCK_TAGS:
            self.newline(soft=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            if tag == "pre" and self.pre_depth:
                self.pre_depth -= 1
            self.newline(soft=True)
        elif tag == "span" and self._open_spans:
            entity_id, line_no, offset = self._open_spans.pop()
            if entity_id is not None and line_no == len(self.lines):
                self.entity_texts[entity_id] = _collapse("".join(self.line[offset:]))

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        data = data.translate(_MARKERS_OFF)
        if self.pre_depth:
            # Preformatted text keeps its layout: \x00 marks "do not collapse", \x01 a newline.
            self.line.append("\x00" + data.replace("\n", "\x01"))
        else:
            self.line.append(data)

    def finish(self) -> str:
        self.close()
        self.newline(soft=True)
        lines = (_clean_line(line) for line in self.lines)
        return "\n".join(_squeeze_blank_lines(lines)).strip("\n")


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _clean_line(line: str) -> str:
    if "\x00" not in line:
        return _collapse(line)
    return line.replace("\x00", "").replace("\x01", "\n").rstrip()


def _squeeze_blank_lines(lines: Iterator[str]) -> Iterator[str]:
    """At most one blank line in a row."""
    blank = False
    for line in lines:
        if line or not blank:
            yield line
        blank = not line


def render_presentation(presentation_ml: str) -> tuple[str, dict[str, str]]:
    """The plain text of `presentation_ml` and the rendered text of each entity span
    (`data-entity-id` → e.g. "@Jane Doe"). Never raises."""
    simple = _SIMPLE.fullmatch(presentation_ml)
    if simple is not None:  # the common case: one line of text, maybe with entities (&amp;)
        text = simple.group(1)
        return _collapse(unescape(text) if "&" in text else text), {}
    renderer = _TextRenderer()
    try:
        renderer.feed(presentation_ml)
        return renderer.finish(), renderer.entity_texts
    except Exception:  # html.parser gives up on some garbage; a crude strip is better than nothing
        logger.debug("PresentationML did not parse; stripping tags instead", exc_info=True)
        return _collapse(unescape(_TAG.sub(" ", presentation_ml))), {}


def presentation_to_text(presentation_ml: str) -> str:
    """PresentationML (`<div data-format="PresentationML" …>…</div>`) → plain text.

    Tags are stripped and entities unescaped; mentions read as their rendered "@Name";
    `<br/>` and block elements (div, p, li, tr, h1…) end lines; runs of spaces and source
    newlines collapse to one space; `<pre>` keeps its layout. Never raises: garbage falls back
    to a tag-stripping regex.
    """
    return render_presentation(presentation_ml)[0]


# ---------------------------------------------------------------------------------------------
# EntityJSON


def parse_entity_json(data: object) -> dict[str, Any]:
    """V4Message `data` (EntityJSON, delivered as a JSON *string*) → dict.

    A dict is accepted as is; anything malformed or not a JSON object gives `{}` (logged at
    debug level), never an exception: a message's text matters more than its entities.
    """
    if data is None or data == "":
        return {}
    if isinstance(data, dict):
        return data
    if isinstance(data, str | bytes):
        try:
            parsed = json.loads(data)
        except ValueError:
            logger.debug("ignoring malformed EntityJSON data (%d chars)", len(data))
            return {}
        if isinstance(parsed, dict):
            return parsed
    logger.debug("ignoring EntityJSON data that is not a JSON object")
    return {}


def _mention_entities(data: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    """(entity key, user id) for each `com.symphony.user.mention` entity."""
    for key, entity in data.items():
        if not isinstance(entity, dict) or entity.get("type") != MENTION_ENTITY_TYPE:
            continue
        ids = entity.get("id")
        for ident in ids if isinstance(ids, list) else ():
            if not isinstance(ident, dict) or ident.get("type", _USER_ID_TYPE) != _USER_ID_TYPE:
                continue
            value = ident.get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                yield key, value
            elif isinstance(value, str) and value.strip().isdigit():
                yield key, int(value)


def mentions_from_data(data: Mapping[str, Any]) -> tuple[int, ...]:
    """User ids mentioned in EntityJSON, in order, without duplicates."""
    return tuple(dict.fromkeys(user_id for _, user_id in _mention_entities(data)))


def mention_texts(data: Mapping[str, Any], entity_texts: Mapping[str, str]) -> dict[int, str]:
    """User id → how their mention reads in the text (e.g. "@Jane Doe")."""
    texts: dict[int, str] = {}
    for key, user_id in _mention_entities(data):
        rendered = entity_texts.get(key)
        if rendered:
            texts.setdefault(user_id, rendered)
    return texts


# ---------------------------------------------------------------------------------------------
# Message


def _default_mention_texts(message: Message) -> dict[int, str]:
    return mention_texts(message.data, render_presentation(message.presentation_ml)[1])


@frozen(kw_only=True)
class Message:
    """A message the bot received. Build it with `symbot.events.parse_message`, or directly
    (`text`, `mentions` are then derived from `presentation_ml` and `data`)."""

    message_id: str
    stream: Stream
    sender: User
    timestamp: int
    presentation_ml: str = field(repr=False)
    data: Mapping[str, Any] = field(factory=dict, repr=False, hash=False)
    text: str = Factory(lambda self: presentation_to_text(self.presentation_ml), takes_self=True)
    mentions: tuple[int, ...] = Factory(lambda self: mentions_from_data(self.data), takes_self=True)
    _mention_texts: Mapping[int, str] = field(
        default=Factory(_default_mention_texts, takes_self=True), repr=False, eq=False
    )
    _replier: Replier | None = field(default=None, repr=False, eq=False)

    @property
    def stream_id(self) -> str:
        return self.stream.stream_id

    def mentions_user(self, user_id: int) -> bool:
        """Whether `user_id` is mentioned (per EntityJSON, not a guess from the text)."""
        return user_id in self.mentions

    def text_without_mention(self, user_id: int, *, display_name: str | None = None) -> str:
        """`text` without a leading mention of `user_id` ("@Bot /help" → "/help").

        The mention is recognised by its rendered text in the PresentationML; `display_name`
        ("@" + it) is tried as a fallback for senders that render mentions differently.
        """
        text = self.text
        candidates = (self._mention_texts.get(user_id), display_name and f"@{display_name}")
        for candidate in candidates:
            if candidate and text[: len(candidate)].casefold() == candidate.casefold():
                return text[len(candidate) :].lstrip()
        return text

    @property
    def can_reply(self) -> bool:
        """Whether a replier is bound (see `with_replier`)."""
        return self._replier is not None

    def with_replier(self, replier: Replier) -> Message:
        """A copy of this message whose `reply()` sends through `replier`."""
        return evolve(self, replier=replier)

    async def reply(self, content: str, *, data: Mapping[str, Any] | None = None) -> Message | None:
        """Send `content` into this message's stream: a plain `str` is escaped text, a
        `MessageML` fragment (builders, `markup()`) is markup (see `to_message_ml`)."""
        if self._replier is None:
            raise RuntimeError(
                f"message {self.message_id} cannot reply: no replier is bound. Messages from "
                "the bot's dispatcher have one; for others use msg.with_replier(send) first"
            )
        return await self._replier(self.stream.stream_id, to_message_ml(content), data)
