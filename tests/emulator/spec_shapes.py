"""The response shapes of the pod and agent endpoints the emulator serves, transcribed from
the official specs (`pod-api-public.yaml`, `agent-api-public.yaml`; definition names kept),
and `assert_shape`, which holds a JSON value to one: no property the spec does not define,
each of its type, the required ones present.

A shape is a dict of property → type (`int`, `str`, `bool`, `dict` for a free-form object, a
nested shape, `[item type]` for an array, or a frozenset of allowed strings), with the
required properties under the key `REQUIRED`.
"""

from __future__ import annotations

from typing import Any

REQUIRED = "__required__"

Shape = dict[str, Any]

Error: Shape = {"code": int, "message": str}
V2Error: Shape = {"code": int, "message": str, "details": dict, REQUIRED: {"code", "message"}}

UserError: Shape = {"error": str, "email": str, "id": str}
Avatar: Shape = {"size": str, "url": str}
UserV2: Shape = {
    "id": int,
    "emailAddress": str,
    "firstName": str,
    "lastName": str,
    "displayName": str,
    "title": str,
    "company": str,
    "username": str,
    "location": str,
    "accountType": frozenset({"NORMAL", "SYSTEM", "SDL"}),
    "avatars": [Avatar],
    "workPhoneNumber": str,
    "mobilePhoneNumber": str,
    "jobFunction": str,
    "department": str,
    "division": str,
    "roles": [str],
    "userMetadata": dict,
}
V2UserList: Shape = {"users": [UserV2], "errors": [UserError]}
UserSearchResults: Shape = {
    "count": int,
    "skip": int,
    "limit": int,
    "searchQuery": {"query": str, "filters": dict},
    "users": [UserV2],
}

Stream: Shape = {"id": str}
RoomTag: Shape = {"key": str, "value": str}
V3RoomAttributes: Shape = {
    "name": str,
    "keywords": [RoomTag],
    "description": str,
    "membersCanInvite": bool,
    "discoverable": bool,
    "public": bool,
    "readOnly": bool,
    "copyProtected": bool,
    "crossPod": bool,
    "viewHistory": bool,
    "multiLateralRoom": bool,
    "scheduledMeeting": bool,
    "subType": str,
    "pinnedMessageId": str,
    "groupChat": bool,
}
RoomSystemInfo: Shape = {"id": str, "creationDate": int, "createdByUserId": int, "active": bool}
GroupItem: Shape = {"id": int, "addedBy": int}
V3RoomDetail: Shape = {
    "roomAttributes": V3RoomAttributes,
    "roomSystemInfo": RoomSystemInfo,
    "groups": [GroupItem],
}
MemberInfo: Shape = {"id": int, "owner": bool, "joinDate": int, "addedThroughGroups": [int]}
SuccessResponse: Shape = {"format": frozenset({"TEXT", "XML"}), "message": str}
StreamAttributes: Shape = {
    "id": str,
    "crossPod": bool,
    "active": bool,
    "streamType": {"type": frozenset({"IM", "MIM", "ROOM", "POST"})},
    "streamAttributes": {"members": [int]},
    "roomAttributes": {"name": str},
}
V2StreamAttributes: Shape = {
    "id": str,
    "crossPod": bool,
    "origin": str,
    "active": bool,
    "lastMessageDate": int,
    "streamType": {"type": str},
    "streamAttributes": {"members": [int]},
    "roomAttributes": {"name": str, "groups": [GroupItem]},
}
MessageSuppressionResponse: Shape = {"messageId": str, "suppressed": bool, "suppressionDate": int}

V4User: Shape = {
    "userId": int,
    "firstName": str,
    "lastName": str,
    "displayName": str,
    "email": str,
    "username": str,
}
V4Stream: Shape = {
    "streamId": str,
    "streamType": str,
    "roomName": str,
    "members": [V4User],
    "external": bool,
    "crossPod": bool,
    "recipientTenantIds": [int],
}
V4ThumbnailInfo: Shape = {"id": str, "dimension": str}
V4AttachmentInfo: Shape = {
    "id": str,
    "name": str,
    "size": int,
    "images": [V4ThumbnailInfo],
    REQUIRED: {"id", "name", "size", "images"},
}
V4Message: Shape = {
    "messageId": str,
    "parentMessageId": str,
    "timestamp": int,
    "message": str,
    "sharedMessage": dict,
    "data": str,
    "attachments": [V4AttachmentInfo],
    "user": V4User,
    "stream": V4Stream,
    "externalRecipients": bool,
    "diagnostic": str,
    "userAgent": str,
    "originalFormat": str,
    "disclaimer": str,
    "sid": str,
    "replacing": str,
    "replacedBy": str,
    "initialTimestamp": int,
    "initialMessageId": str,
    "silent": bool,
}
V4KeyValuePair: Shape = {"key": str, "value": str}
V4RoomProperties: Shape = {
    "name": str,
    "description": str,
    "creatorUser": V4User,
    "createdDate": int,
    "external": bool,
    "crossPod": bool,
    "public": bool,
    "copyProtected": bool,
    "readOnly": bool,
    "discoverable": bool,
    "membersCanInvite": bool,
    "keywords": [V4KeyValuePair],
    "canViewHistory": bool,
}
V4Payload: Shape = {
    "messageSent": {"message": V4Message},
    "instantMessageCreated": {"stream": V4Stream},
    "roomCreated": {"stream": V4Stream, "roomProperties": V4RoomProperties},
    "roomUpdated": {"stream": V4Stream, "newRoomProperties": V4RoomProperties},
    "userJoinedRoom": {"stream": V4Stream, "affectedUser": V4User},
    "userLeftRoom": {"stream": V4Stream, "affectedUser": V4User},
    "messageSuppressed": {"messageId": str, "stream": V4Stream},
    "symphonyElementsAction": {
        "stream": V4Stream,
        "formMessageId": str,
        "formId": str,
        "formValues": dict,
    },
}
V4Event: Shape = {
    "id": str,
    "messageId": str,
    "timestamp": int,
    "type": str,
    "diagnostic": str,
    "initiator": {"user": V4User},
    "payload": V4Payload,
}


def assert_shape(value: Any, shape: Any, where: str = "answer") -> None:
    """`value` is of type `shape` (see the module docstring); AssertionError naming where."""
    if isinstance(shape, list):
        assert isinstance(value, list), f"{where}: expected an array, got {value!r}"
        for index, item in enumerate(value):
            assert_shape(item, shape[0], f"{where}[{index}]")
    elif isinstance(shape, frozenset):
        assert value in shape, f"{where}: {value!r} is not one of {sorted(shape)}"
    elif isinstance(shape, dict):
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        unknown = set(value) - set(shape) - {REQUIRED}
        assert not unknown, f"{where}: properties the spec does not define: {sorted(unknown)}"
        missing = shape.get(REQUIRED, set()) - set(value)
        assert not missing, f"{where}: required properties missing: {sorted(missing)}"
        for key, item in value.items():
            assert_shape(item, shape[key], f"{where}.{key}")
    elif shape is int:
        assert isinstance(value, int), f"{where}: expected an integer, got {value!r}"
        assert not isinstance(value, bool), f"{where}: expected an integer, got {value!r}"
    else:
        assert isinstance(value, shape), f"{where}: expected {shape.__name__}, got {value!r}"
