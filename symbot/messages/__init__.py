"""Messages: what a received message holds, and how to write one that is safe to send.

- `Message`, `User`, `Stream`: a message the bot received, with its plain `text`, EntityJSON
  `data`, mentions and `reply()`; `parse_message` reads one from V4Message JSON, and
  `read_message`, `read_user`, `read_stream` are the checked readers it shares with the
  datafeed's event parser (their `FieldError` names the faulty field's path).
- MessageML that user text can never break: a plain `str` is always escaped text, and the
  builders (`bold`, `mention`, ...) escape every plain part; `markup()` marks the author's
  own markup.
- Symphony Elements forms (`form`, `text_field`, `text_area`, `dropdown`, `checkbox`,
  `radio`, `button`, `reset_button`), escaped like every other builder.
- `presentation_to_text()`: what a human reads, from the PresentationML Symphony delivers.

Pure: no network. May import: `symbot.errors`.
"""

from symbot.messages._elements import (
    BUTTON_STYLES,
    button,
    checkbox,
    dropdown,
    form,
    radio,
    reset_button,
    text_area,
    text_field,
)
from symbot.messages._entities import (
    MENTION_ENTITY_TYPE,
    mention_texts,
    mentions_from_data,
    parse_entity_json,
)
from symbot.messages._messageml import (
    MessageML,
    bold,
    code,
    document,
    escape,
    italic,
    link,
    markup,
    mention,
    plain,
    pre,
    to_message_ml,
)
from symbot.messages._model import Attachment, Message, Replier, Stream, Thumbnail, User
from symbot.messages._parse import parse_message, read_message, read_stream, read_user
from symbot.messages._presentation import (
    may_show_slash_word,
    presentation_to_text,
    render_presentation,
)

__all__ = [
    "BUTTON_STYLES",
    "MENTION_ENTITY_TYPE",
    "Attachment",
    "Message",
    "MessageML",
    "Replier",
    "Stream",
    "Thumbnail",
    "User",
    "bold",
    "button",
    "checkbox",
    "code",
    "document",
    "dropdown",
    "escape",
    "form",
    "italic",
    "link",
    "markup",
    "may_show_slash_word",
    "mention",
    "mention_texts",
    "mentions_from_data",
    "parse_entity_json",
    "parse_message",
    "plain",
    "pre",
    "presentation_to_text",
    "radio",
    "read_message",
    "read_stream",
    "read_user",
    "render_presentation",
    "reset_button",
    "text_area",
    "text_field",
    "to_message_ml",
]
