"""The emulator's controls for conversations, as the pod's users would act: make rooms and
IMs, send messages (with attachments), submit forms, publish room events, look at and drop
datafeeds. `Emulator` inherits them; they work on the state it builds."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any

from symbot.emulator._directory import UserDirectory
from symbot.emulator._feeds import FeedInfo, FeedStore
from symbot.emulator._message_ops import MessageOperations
from symbot.emulator._streams import SentMessage, StreamStore

__all__ = ["ConversationControls"]


class ConversationControls:
    """Conversation controls of `Emulator` (which sets these attributes)."""

    directory: UserDirectory
    feed_store: FeedStore
    stream_store: StreamStore
    message_ops: MessageOperations

    def create_room(self, name: str, members: Sequence[str], *, owner: str | None = None) -> str:
        """A room holding `members` (and `owner`, default the first member); its stream id."""
        return self.stream_store.create_room(name, members, owner=owner)

    def create_im(self, *usernames: str) -> str:
        """The IM (two users) or MIM (more) between `usernames`; its stream id."""
        return self.stream_store.create_im(*usernames)

    def send(
        self,
        as_user: str,
        stream_id: str,
        text: str,
        *,
        mentions: Sequence[str] = (),
        data: str | None = None,
        message_ml: bool = False,
        attachments: Sequence[tuple[str, bytes]] = (),
    ) -> dict[str, Any]:
        """Post a message as `as_user`, publish MESSAGESENT to the stream's members, and
        return it as V4Message JSON. `text` is what a user types: escaped, with `mentions`
        (usernames) rendered before it, even if it looks like markup. With `message_ml=True`
        it is MessageML sent as is (e.g. a form), as an API client would. `attachments` are
        (file name, content) pairs, stored for members to download."""
        files = [
            (name, content, mimetypes.guess_type(name)[0] or "application/octet-stream")
            for name, content in attachments
        ]
        if message_ml:
            if mentions:
                raise ValueError("mentions= applies to plain text; put <mention/> in MessageML")
            sent = self.stream_store.send(
                as_user, stream_id, message_ml=text, data=data, attachments=files
            )
        else:
            sent = self.stream_store.send(
                as_user, stream_id, text, mentions=mentions, data=data, attachments=files
            )
        return self.stream_store.v4_message(sent)

    def submit_form(
        self,
        as_user: str,
        message_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        form_id: str | None = None,
        action: str | None = None,
    ) -> dict[str, Any]:
        """`as_user` fills in a form of message `message_id` with `values` (field name →
        value: a string, or a list for several choices) and clicks button `action` (needed
        only when the form has several); the sender of the form (the bot) gets the
        SYMPHONYELEMENTSACTION event, which is returned. `form_id` picks one form of a
        message that has several. ValueError for a submission no user could make."""
        return self.message_ops.submit_form(
            as_user, message_id, values or {}, form_id=form_id, action=action
        )

    def room_event(
        self, event_type: str, stream_id: str, initiator: str, affected_user: str | None = None
    ) -> dict[str, Any]:
        """Publish a room event (USERJOINEDROOM, ROOMCREATED, ...) to the stream's members;
        see StreamStore.room_event."""
        return self.stream_store.room_event(event_type, stream_id, initiator, affected_user)

    def sent_messages(self) -> list[SentMessage]:
        """Every message sent so far (by bots through the API and by `send`), oldest first."""
        return self.stream_store.sent_messages()

    def inject_event(
        self, event: Mapping[str, Any] | str, *, to: Sequence[str] | None = None
    ) -> None:
        """Put a raw event (a V4Event dict, or JSON text, possibly malformed) into the feeds
        of the users `to` (default: every user)."""
        usernames = list(to) if to is not None else [user.username for user in self.directory]
        self.feed_store.publish(usernames, event)

    def feeds(self, username: str | None = None) -> list[FeedInfo]:
        return self.feed_store.feeds(username)

    def delete_feed(self, feed_id: str) -> None:
        self.feed_store.delete(feed_id)
