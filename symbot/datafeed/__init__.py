"""The datafeed: reading events from the agent, and what they are.

- `DatafeedLoop` reads one datafeed v5: finds or creates the feed, reads, hands each batch
  on, acknowledges it once handled, and recovers from everything the network and the agent
  can do (see its module docstring).
- `parse_event` turns one V4Event into a typed, immutable `Event` subclass (`MessageSentEvent`,
  `UserJoinedRoomEvent`, ...); an unknown type gives a plain `Event`, a malformed one
  `EventParseError`.

May import: `symbot.messages`, `symbot.transport`, `symbot.config`, `symbot.errors`.
"""

from symbot.datafeed._events import (
    EVENT_CLASSES,
    STREAM_TYPES,
    ConnectionAcceptedEvent,
    ConnectionRequestedEvent,
    Event,
    GenericSystemEvent,
    InstantMessageCreatedEvent,
    MessageSentEvent,
    MessageSuppressedEvent,
    RoomCreatedEvent,
    RoomDeactivatedEvent,
    RoomMemberDemotedFromOwnerEvent,
    RoomMemberEvent,
    RoomMemberPromotedToOwnerEvent,
    RoomReactivatedEvent,
    RoomUpdatedEvent,
    SharedPostEvent,
    StreamEvent,
    SymphonyElementsActionEvent,
    UserJoinedRoomEvent,
    UserLeftRoomEvent,
    UserRequestedToJoinRoomEvent,
    parse_event,
)
from symbot.datafeed._loop import Batch, DatafeedLoop, FeedStats
from symbot.datafeed._read import MalformedEvent, parse_read_body

__all__ = [
    "EVENT_CLASSES",
    "STREAM_TYPES",
    "Batch",
    "ConnectionAcceptedEvent",
    "ConnectionRequestedEvent",
    "DatafeedLoop",
    "Event",
    "FeedStats",
    "GenericSystemEvent",
    "InstantMessageCreatedEvent",
    "MalformedEvent",
    "MessageSentEvent",
    "MessageSuppressedEvent",
    "RoomCreatedEvent",
    "RoomDeactivatedEvent",
    "RoomMemberDemotedFromOwnerEvent",
    "RoomMemberEvent",
    "RoomMemberPromotedToOwnerEvent",
    "RoomReactivatedEvent",
    "RoomUpdatedEvent",
    "SharedPostEvent",
    "StreamEvent",
    "SymphonyElementsActionEvent",
    "UserJoinedRoomEvent",
    "UserLeftRoomEvent",
    "UserRequestedToJoinRoomEvent",
    "parse_event",
    "parse_read_body",
]
