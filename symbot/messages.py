"""Received messages, safe MessageML building, and PresentationML → plain text.

Three jobs, all pure (no network):

- `Message`: a message the bot received (parsed from a V4Message by `symbot.events`), with
  its plain `text`, EntityJSON `data`, mentioned user ids, and `reply()`, which goes through
  a *replier* the dispatcher binds (`with_replier`), so this module never touches HTTP.
- Building MessageML that user text can never break: `escape()`, `to_message_ml()`, and the
  `MessageML` fragment type with `plain/bold/italic/code/pre/link/mention/document`, whose
  every text part is escaped. Only `MessageML` values (and whole documents) are trusted markup.
- `presentation_to_text()`: what a human reads, from the PresentationML Symphony delivers
  (it lives in `symbot.presentation`; this module re-exports it).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from attrs import evolve, field, frozen

from symbot.presentation import may_show_slash_word, presentation_to_text, render_presentation

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
# EntityJSON


def parse_entity_json(data: object) -> dict[str, Any]:
    """V4Message `data` (EntityJSON, delivered as a JSON *string*) → dict.

    A dict is accepted as is; anything malformed or not a JSON object gives `{}` (logged at
    debug level), never an exception: a message's text matters more than its entities.
    """
    if data is None or data == "" or data == "{}":  # most messages: no entities, no decoding
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


_keep = object.__setattr__  # fills a lazily worked-out field of a frozen Message


@frozen(kw_only=True, eq=False, repr=False, slots=False)  # eq, hash, repr below read lazy parts
class Message:
    """A message the bot received. Build it with `symbot.events.parse_message`, or directly.

    `text`, `data` and `mentions` are worked out on first access, from `presentation_ml` and
    the EntityJSON given as `data` (a JSON string, as Symphony sends it, or a mapping), unless
    given explicitly: a handler that never reads them never pays for rendering HTML or
    decoding JSON. Equality, hashing and `repr` are those of the values they stand for.
    """

    message_id: str
    stream: Stream
    sender: User
    timestamp: int
    presentation_ml: str
    # What was given, else None until first read, then what it works out to (kept: a cache).
    _data: Mapping[str, Any] | str | bytes | None = field(default=None, alias="data")
    _text: str | None = field(default=None, alias="text")
    _mentions: tuple[int, ...] | None = field(default=None, alias="mentions")
    _mention_texts: Mapping[int, str] | None = field(default=None, alias="mention_texts")
    _replier: Replier | None = field(default=None, alias="replier", repr=False, eq=False)
    _entity_texts: Mapping[str, str] | None = field(default=None, init=False, eq=False)

    @property
    def data(self) -> Mapping[str, Any]:
        """The EntityJSON, decoded (`{}` when there is none or it is malformed)."""
        data = self._data
        if type(data) is dict or isinstance(data, Mapping):
            return data
        decoded = parse_entity_json(data)
        _keep(self, "_data", decoded)
        return decoded

    @property
    def text(self) -> str:
        """What a human reads (see `presentation_to_text`)."""
        text = self._text
        if text is None:
            text, entity_texts = render_presentation(self.presentation_ml)
            _keep(self, "_text", text)
            _keep(self, "_entity_texts", entity_texts)
        return text

    def may_hold_slash_command(self) -> bool:
        """False only when no word of `text` starts with "/" and a letter or digit (so no
        "/command" is in it); decided without rendering the text if it was not read yet."""
        text = self._text
        if text is not None:
            return "/" in text
        return may_show_slash_word(self.presentation_ml)

    @property
    def mentions(self) -> tuple[int, ...]:
        """The ids of the users mentioned, in order (from EntityJSON)."""
        mentions = self._mentions
        if mentions is None:
            data = self.data
            mentions = mentions_from_data(data) if data else ()
            _keep(self, "_mentions", mentions)
        return mentions

    def _mention_texts_by_user(self) -> Mapping[int, str]:
        texts = self._mention_texts
        if texts is None:
            texts = {}
            if self.data:
                entity_texts = self._entity_texts
                if entity_texts is None:
                    entity_texts = render_presentation(self.presentation_ml)[1]
                texts = mention_texts(self.data, entity_texts) if entity_texts else {}
            _keep(self, "_mention_texts", texts)
        return texts

    def _compared(self) -> tuple[Any, ...]:
        return (self.message_id, self.stream, self.sender, self.timestamp, self.presentation_ml)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Message)
        return (
            self._compared() == other._compared()
            and self.data == other.data
            and self.text == other.text
            and self.mentions == other.mentions
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((*self._compared(), self.text, self.mentions))

    def __repr__(self) -> str:
        return (
            f"Message(message_id={self.message_id!r}, stream={self.stream!r}, "
            f"sender={self.sender!r}, timestamp={self.timestamp!r}, text={self.text!r}, "
            f"mentions={self.mentions!r})"
        )

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
        by_user = self._mention_texts_by_user()
        candidates = (by_user.get(user_id), display_name and f"@{display_name}")
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
