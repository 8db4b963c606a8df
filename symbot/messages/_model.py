"""The parts of a received message: `User`, `Stream` and `Message`.

`Message` is a message the bot received (parsed from a V4Message by
`symbot.messages.parse_message` or the datafeed's event parser), with its plain `text`,
EntityJSON `data`, mentioned user ids, and `reply()`, which goes through a *replier* the
dispatcher binds (`with_replier`), so this module never touches HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from attrs import evolve, field, frozen

from symbot.messages._entities import mention_texts, mentions_from_data, parse_entity_json
from symbot.messages._messageml import to_message_ml
from symbot.messages._presentation import may_show_slash_word, render_presentation

__all__ = ["Attachment", "Message", "Replier", "Stream", "Thumbnail", "User"]

Replier = Callable[[str, str, "Mapping[str, Any] | None"], Awaitable["Message | None"]]
"""`await replier(stream_id, message_ml, data)` sends MessageML into a stream (bound by the
dispatcher); it returns the sent `Message`, or None if the sender does not parse the answer."""


@frozen
class User:
    """A Symphony user (V4User). Only `user_id` is always known."""

    user_id: int
    username: str | None = None
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@frozen
class Stream:
    """A conversation (V4Stream). `stream_type` is IM, MIM, ROOM, POST, or None if unsent."""

    stream_id: str
    stream_type: str | None = None
    room_name: str | None = None
    members: tuple[User, ...] = ()

    @property
    def is_room(self) -> bool:
        """ROOM and MIM (multi-party IM) are rooms; IM and POST are not."""
        return self.stream_type in ("ROOM", "MIM")


@frozen
class Thumbnail:
    """A preview image of an attachment (V4ThumbnailInfo); `dimension` is its pixel size."""

    thumbnail_id: str
    dimension: str | None = None


@frozen
class Attachment:
    """A file attached to a message (V4AttachmentInfo): its id, file name and size in bytes.

    The content is not part of the message: download it with
    `symbot.services.Messages.download(message, attachment)` (`bot.messages` in a bot)."""

    attachment_id: str
    name: str
    size: int
    thumbnails: tuple[Thumbnail, ...] = ()


_keep = object.__setattr__  # fills a lazily worked-out field of a frozen Message


@frozen(kw_only=True, eq=False, repr=False, slots=False)  # eq, hash, repr below read lazy parts
class Message:
    """A message the bot received. Build it with `symbot.messages.parse_message`, or directly.

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
    attachments: tuple[Attachment, ...] = ()
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
        return (
            self.message_id,
            self.stream,
            self.sender,
            self.timestamp,
            self.presentation_ml,
            self.attachments,
        )

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
            f"mentions={self.mentions!r}"
            + (f", attachments={self.attachments!r})" if self.attachments else ")")
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
