"""Realistic V4Event JSON: one fixture per documented event type, and its parts."""

from __future__ import annotations

import json
from typing import Any

TS = 1_700_000_000_123
ALICE = {
    "userId": 349026222342678,
    "firstName": "Alice",
    "lastName": "Arden",
    "displayName": "Alice Arden",
    "email": "alice@example.com",
    "username": "alice",
}
BOB = {"userId": 349026222342679, "displayName": "Bob B", "username": "bob"}
BOT_ID = 349026222340000
ROOM = {"streamId": "lJaaDtp7Vw_xV9-Ah_1OMX___ooBFbLDdA", "streamType": "ROOM", "roomName": "Ops"}
IM = {"streamId": "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA", "streamType": "IM"}
ROOM_PROPS = {
    "name": "Ops",
    "description": "Operations",
    "creatorUser": ALICE,
    "createdDate": TS,
    "public": False,
    "readOnly": False,
    "keywords": [{"key": "region", "value": "EMEA"}],
}


def v4_message(
    text: str = "hello", *, message_id: str = "msgAbC-1", **extra: Any
) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "timestamp": TS,
        "message": f'<div data-format="PresentationML" data-version="2.0">{text}</div>',
        "data": "{}",
        "user": dict(ALICE),
        "stream": ROOM,
        "externalRecipients": False,
        "userAgent": "Agent-23.11",
        "originalFormat": "com.symphony.messageml.v2",
        **extra,
    }


def v4_event(event_type: str, key: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"evt-{event_type.lower()}",
        "messageId": "msgAbC-1",
        "timestamp": TS,
        "type": event_type,
        "initiator": {"user": dict(ALICE)},
        "payload": {key: payload},
        **extra,
    }


MENTION_DATA = json.dumps(
    {
        "0": {
            "id": [{"type": "com.symphony.user.userId", "value": str(BOT_ID)}],
            "type": "com.symphony.user.mention",
        }
    }
)

FIXTURES: dict[str, dict[str, Any]] = {
    "MESSAGESENT": v4_event("MESSAGESENT", "messageSent", {"message": v4_message()}),
    "SHAREDPOST": v4_event(
        "SHAREDPOST",
        "sharedPost",
        {"message": v4_message("look"), "sharedMessage": v4_message("news", message_id="p1")},
    ),
    "INSTANTMESSAGECREATED": v4_event(
        "INSTANTMESSAGECREATED",
        "instantMessageCreated",
        {"stream": {**IM, "members": [ALICE, BOB]}},
    ),
    "ROOMCREATED": v4_event(
        "ROOMCREATED", "roomCreated", {"stream": ROOM, "roomProperties": ROOM_PROPS}
    ),
    "ROOMUPDATED": v4_event(
        "ROOMUPDATED", "roomUpdated", {"stream": ROOM, "newRoomProperties": ROOM_PROPS}
    ),
    "ROOMDEACTIVATED": v4_event("ROOMDEACTIVATED", "roomDeactivated", {"stream": ROOM}),
    "ROOMREACTIVATED": v4_event("ROOMREACTIVATED", "roomReactivated", {"stream": ROOM}),
    "USERJOINEDROOM": v4_event(
        "USERJOINEDROOM", "userJoinedRoom", {"stream": ROOM, "affectedUser": BOB}
    ),
    "USERLEFTROOM": v4_event("USERLEFTROOM", "userLeftRoom", {"stream": ROOM, "affectedUser": BOB}),
    "ROOMMEMBERPROMOTEDTOOWNER": v4_event(
        "ROOMMEMBERPROMOTEDTOOWNER",
        "roomMemberPromotedToOwner",
        {"stream": ROOM, "affectedUser": BOB},
    ),
    "ROOMMEMBERDEMOTEDFROMOWNER": v4_event(
        "ROOMMEMBERDEMOTEDFROMOWNER",
        "roomMemberDemotedFromOwner",
        {"stream": ROOM, "affectedUser": BOB},
    ),
    "CONNECTIONREQUESTED": v4_event("CONNECTIONREQUESTED", "connectionRequested", {"toUser": BOB}),
    "CONNECTIONACCEPTED": v4_event("CONNECTIONACCEPTED", "connectionAccepted", {"fromUser": BOB}),
    "MESSAGESUPPRESSED": v4_event(
        "MESSAGESUPPRESSED", "messageSuppressed", {"messageId": "msgAbC-1", "stream": ROOM}
    ),
    "SYMPHONYELEMENTSACTION": v4_event(
        "SYMPHONYELEMENTSACTION",
        "symphonyElementsAction",
        {
            "stream": IM,
            "formMessageId": "formMsg-9",
            "formId": "order-form",
            "formValues": {"action": "submit", "quantity": "3"},
        },
    ),
    "USERREQUESTEDTOJOINROOM": v4_event(
        "USERREQUESTEDTOJOINROOM",
        "userRequestedToJoinRoom",
        {"stream": ROOM, "affectedUsers": [ALICE, BOB]},
    ),
    "GENERICSYSTEMEVENT": v4_event(
        "GENERICSYSTEMEVENT",
        "genericSystemEvent",
        {
            "stream": ROOM,
            "eventTimestamp": TS - 5,
            "sourceSystem": "calendar",
            "eventSubtype": "meeting.started",
            "parameters": {"meetingId": "42", "attendees": 3},
        },
    ),
}

ABSENT = object()
"""A field left out (for `changed`, and where a field may be absent)."""


def changed(raw: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """A copy of `raw` with the field at `path` set to `value` (left out for `ABSENT`); a
    copy as decoded JSON, in which each object is its own."""
    copied: dict[str, Any] = json.loads(json.dumps(raw))
    target: Any = copied
    for step in path[:-1]:
        target = target[step]
    if value is ABSENT:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copied
