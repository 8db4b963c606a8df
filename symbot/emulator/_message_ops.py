"""What the pod and agent do with existing messages: read them, page through a stream's
history, update, suppress, hand out attachments, and receive Elements form submissions.

Events, as a pod emits them: an update is a new message (MESSAGESENT, its `replacing` naming
the old version) to the stream's members; a suppression is MESSAGESUPPRESSED to the members;
a form submission is SYMPHONYELEMENTSACTION to the one who sent the form (the bot).

Refusals follow the spec: an unknown stream, message or attachment, or a bad parameter, is
400; a caller who is not a member of the stream, or who may not change the message, 403. A
message that does not exist, or was suppressed, reads as 204 ("No Messages").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symbot.emulator._directory import to_v4_user
from symbot.emulator._elements import FormInfo, forms_in
from symbot.emulator._feeds import AgentApiError
from symbot.emulator._messageml import parse_message_ml
from symbot.emulator._rooms import Rooms
from symbot.emulator._streams import SentMessage, StoredAttachment, StreamStore, new_id, now_ms

__all__ = ["CONTENT_MANAGEMENT", "MessageOperations"]

CONTENT_MANAGEMENT = "CONTENT_MANAGEMENT"
"""The pod role that may suppress anyone's messages (others suppress only their own)."""


class MessageOperations:
    """Operations on sent messages, on `store`; `rooms` checks stream access."""

    def __init__(self, store: StreamStore, rooms: Rooms) -> None:
        self.store = store
        self.rooms = rooms
        self.directory = store.directory

    def visible(self, caller: str, message_id: str) -> SentMessage | None:
        """The message, if it exists and is not suppressed (None: a 204); 403 if the caller
        is not a member of its stream."""
        try:
            sent = self.store.message(message_id)
        except KeyError:
            return None
        if message_id in self.store.suppressed:
            return None
        self.rooms.stream_for(caller, sent.stream_id)
        return sent

    def history(
        self, caller: str, stream_id: str, since: int, until: int | None, skip: int, limit: int
    ) -> list[dict[str, Any]]:
        """V4MessageList: the stream's current messages (not suppressed, not replaced) sent
        from `since` to `until`, oldest first, `skip` of them skipped."""
        self.rooms.stream_for(caller, stream_id)
        found = [
            sent
            for sent in self.store.sent_messages()
            if sent.stream_id == stream_id
            and since <= sent.timestamp
            and (until is None or sent.timestamp <= until)
            and sent.message_id not in self.store.suppressed
            and sent.message_id not in self.store.replaced_by
        ]
        return [self.store.v4_message(sent) for sent in found[skip : skip + limit]]

    def _own_message(self, caller: str, stream_id: str, message_id: str) -> SentMessage:
        self.rooms.stream_for(caller, stream_id)
        try:
            sent = self.store.message(message_id)
        except KeyError:
            raise AgentApiError(400, f"message {message_id} does not exist") from None
        if sent.stream_id != stream_id:
            raise AgentApiError(400, f"message {message_id} is not in stream {stream_id}")
        if message_id in self.store.suppressed:
            raise AgentApiError(400, f"message {message_id} was suppressed")
        newer = self.store.replaced_by.get(message_id)
        if newer is not None:
            raise AgentApiError(400, f"message {message_id} was replaced by {newer}; update that")
        if sent.sender != caller:
            raise AgentApiError(403, "it is not possible to update messages sent by other users")
        return sent

    def update(
        self,
        caller: str,
        stream_id: str,
        message_id: str,
        fields: Mapping[str, str],
        attachments: Sequence[tuple[str, bytes, str]],
    ) -> SentMessage:
        """The new version of a message the caller sent (MESSAGESENT to the members)."""
        old = self._own_message(caller, stream_id, message_id)
        message_ml = fields.get("message")
        if message_ml is None:
            raise AgentApiError(400, "the multipart body has no 'message' field (MessageML)")
        return self.store.send(
            caller,
            stream_id,
            message_ml=message_ml,
            data=fields.get("data"),
            attachments=attachments,
            replacing=old,
        )

    def suppress(self, caller: str, message_id: str) -> dict[str, Any]:
        """MessageSuppressionResponse; the sender or a content manager may suppress
        (MESSAGESUPPRESSED to the members); again is harmless (suppressionDate 0)."""
        try:
            sent = self.store.message(message_id)
        except KeyError:
            raise AgentApiError(400, f"message {message_id} does not exist") from None
        if sent.sender != caller and CONTENT_MANAGEMENT not in self.directory.get(caller).roles:
            raise AgentApiError(
                403,
                "users can suppress their own messages only, without the Content Management role",
            )
        if message_id in self.store.suppressed:
            return {"messageId": message_id, "suppressed": True, "suppressionDate": 0}
        when = self.store.suppressed[message_id] = now_ms()
        record = self.store.stream(sent.stream_id)
        self.store.feeds.publish(
            record.members,
            {
                "id": new_id(),
                "timestamp": when,
                "type": "MESSAGESUPPRESSED",
                "initiator": {"user": to_v4_user(self.directory.get(caller))},
                "payload": {
                    "messageSuppressed": {
                        "messageId": message_id,
                        "stream": self.store.v4_stream(record),
                    }
                },
            },
        )
        return {"messageId": message_id, "suppressed": True, "suppressionDate": when}

    def attachment(
        self, caller: str, stream_id: str, message_id: str | None, file_id: str | None
    ) -> StoredAttachment:
        """Attachment `file_id` of message `message_id` in `stream_id`."""
        self.rooms.stream_for(caller, stream_id)
        if not message_id or not file_id:
            raise AgentApiError(400, "fileId and messageId are required")
        sent = self.visible(caller, message_id)
        if sent is None or sent.stream_id != stream_id:
            raise AgentApiError(400, f"message {message_id} is not in stream {stream_id}")
        for attachment in sent.attachments:
            if attachment.attachment_id == file_id:
                return attachment
        raise AgentApiError(400, f"message {message_id} has no attachment {file_id}")

    def submit_form(
        self,
        as_user: str,
        message_id: str,
        values: Mapping[str, Any],
        *,
        form_id: str | None = None,
        action: str | None = None,
    ) -> dict[str, Any]:
        """`as_user` submits a form of message `message_id`; the SYMPHONYELEMENTSACTION event
        goes to the message's sender. ValueError (for the test's author) for what no user
        could submit: a message without that form, an unknown field or button."""
        sent = self.store.message(message_id)
        record = self.store.stream(sent.stream_id)
        if as_user not in record.members:
            raise ValueError(f"{as_user} is not a member of stream {sent.stream_id}")
        form = _pick_form(forms_in(parse_message_ml(sent.message_ml)), message_id, form_id)
        if action is None:
            if len(form.actions) != 1:
                raise ValueError(f"form {form.form_id!r} has buttons {form.actions}; pass action=")
            action = form.actions[0]
        elif action not in form.actions:
            raise ValueError(f"form {form.form_id!r} has no button {action!r}: {form.actions}")
        unknown = sorted(set(values) - form.fields)
        if unknown:
            raise ValueError(
                f"form {form.form_id!r} has no fields {unknown}: {sorted(form.fields)}"
            )
        event = {
            "id": new_id(),
            "timestamp": now_ms(),
            "type": "SYMPHONYELEMENTSACTION",
            "initiator": {"user": to_v4_user(self.directory.get(as_user))},
            "payload": {
                "symphonyElementsAction": {
                    "stream": self.store.v4_stream(record),
                    "formMessageId": message_id,
                    "formId": form.form_id,
                    "formValues": {**values, "action": action},
                }
            },
        }
        self.store.feeds.publish([sent.sender], event)
        return event


def _pick_form(forms: list[FormInfo], message_id: str, form_id: str | None) -> FormInfo:
    if form_id is None:
        if len(forms) != 1:
            ids = [form.form_id for form in forms]
            raise ValueError(f"message {message_id} has forms {ids}; pass form_id=")
        return forms[0]
    for form in forms:
        if form.form_id == form_id:
            return form
    raise ValueError(f"message {message_id} has no form {form_id!r}")
