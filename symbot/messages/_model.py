"""The parts of a received message: `User`, `Stream`, `Attachment` and `Message`.

`Message` is a message the bot received (parsed from a V4Message by
`symbot.messages.parse_message` or the datafeed's event parser), with its plain `text`,
EntityJSON `data`, mentioned user ids, and `reply()`, which goes through the *replier* it
was built with (the bot's parser gives one to every message it delivers), so this module
never touches HTTP.

`User`, `Stream` and `Message` are frozen attrs classes with an instance dict
(`slots=False`): attrs builds those about a third faster than slotted ones, and the datafeed
builds several per event. What a `Message` works out lazily is kept by
`functools.cached_property`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Any

from attrs import evolve, field, frozen

from symbot.messages._entities import mention_texts, mentions_from_data, parse_entity_json
from symbot.messages._messageml import to_message_ml
from symbot.messages._presentation import may_show_slash_word, render_presentation

__all__ = ["Attachment", "Message", "Replier", "Stream", "Thumbnail", "User"]

Replier = Callable[[str, str, "Mapping[str, Any] | None"], Awaitable["Message | None"]]
"""`await replier(stream_id, message_ml, data)` sends MessageML into a stream (given to a
`Message` when it is built: the bot's parser gives it the bot's outbox); it returns the sent
`Message`, or None if the sender does not parse the answer."""


@frozen(slots=False)
class User:
    """A Symphony user (V4User). Only `user_id` is always known."""

    user_id: int
    username: str | None = None
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@frozen(slots=False)
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


@frozen(kw_only=True, eq=False, repr=False, slots=False)  # eq, hash, repr: see below
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
    # As given (None: work it out from the markup and the EntityJSON when first read).
    _given_data: Mapping[str, Any] | str | bytes | None = field(default=None, alias="data")
    _given_text: str | None = field(default=None, alias="text")
    _given_mentions: tuple[int, ...] | None = field(default=None, alias="mentions")
    _given_mention_texts: Mapping[int, str] | None = field(default=None, alias="mention_texts")
    _replier: Replier | None = field(default=None, alias="replier")

    @cached_property
    def data(self) -> Mapping[str, Any]:
        """The EntityJSON, decoded (`{}` when there is none or it is malformed)."""
        data = self._given_data
        if type(data) is dict or isinstance(data, Mapping):
            return data
        return parse_entity_json(data)

    @cached_property
    def _rendered(self) -> tuple[str, Mapping[str, str]]:
        """The text of the PresentationML and the text of each of its entity spans."""
        return render_presentation(self.presentation_ml)

    @cached_property
    def text(self) -> str:
        """What a human reads (see `presentation_to_text`)."""
        given = self._given_text
        return given if given is not None else self._rendered[0]

    def may_hold_slash_command(self) -> bool:
        """False only when no word of `text` starts with "/" and a letter or digit (so no
        "/command" is in it); decided from the markup, without rendering it, unless the
        text was given."""
        given = self._given_text
        if given is not None:
            return "/" in given
        return may_show_slash_word(self.presentation_ml)

    @cached_property
    def mentions(self) -> tuple[int, ...]:
        """The ids of the users mentioned, in order (from EntityJSON)."""
        given = self._given_mentions
        if given is not None:
            return given
        data = self.data
        return mentions_from_data(data) if data else ()

    @cached_property
    def _mention_texts(self) -> Mapping[int, str]:
        """User id → how their mention reads in the text (e.g. "@Jane Doe")."""
        given = self._given_mention_texts
        if given is not None:
            return given
        data = self.data
        entity_texts = self._rendered[1] if data else None
        return mention_texts(data, entity_texts) if entity_texts else {}

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
        by_user = self._mention_texts
        candidates = (by_user.get(user_id), display_name and f"@{display_name}")
        for candidate in candidates:
            if candidate and text[: len(candidate)].casefold() == candidate.casefold():
                return text[len(candidate) :].lstrip()
        return text

    @property
    def can_reply(self) -> bool:
        """Whether a replier was given (when built, or through `with_replier`)."""
        return self._replier is not None

    def with_replier(self, replier: Replier) -> Message:
        """A copy of this message whose `reply()` sends through `replier`."""
        return evolve(self, replier=replier)

    async def reply(self, content: str, *, data: Mapping[str, Any] | None = None) -> Message | None:
        """Send `content` into this message's stream: a plain `str` is escaped text, a
        `MessageML` fragment (builders, `markup()`) is markup (see `to_message_ml`)."""
        if self._replier is None:
            raise RuntimeError(
                f"message {self.message_id} cannot reply: no replier is bound. Messages the bot "
                "delivers to handlers have one; for others use msg.with_replier(send) first"
            )
        return await self._replier(self.stream.stream_id, to_message_ml(content), data)
