"""symbot: async framework for Symphony Messaging bots.

Everything a bot author needs is importable from here; the emulator lives in
`symbot.emulator`, authentication building blocks in `symbot.auth`, and test helpers in
`symbot.testing`.
"""

from symbot.auth import AuthProvider, AuthSession, CertificateAuth, RsaJwtAuth, Tokens
from symbot.bot import Bot
from symbot.client import SessionInfo, SymphonyClient
from symbot.config import BotConfig, BotSettings, DatafeedConfig, Timeouts
from symbot.errors import (
    ApiError,
    AuthenticationError,
    CommandUsageError,
    ComplianceBlockedError,
    ConfigError,
    EventParseError,
    KeyLoadError,
    MessageRejectedError,
    RateLimitedError,
    Redeliver,
    SymbotError,
    TransportError,
)
from symbot.events import (
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
    RoomMemberPromotedToOwnerEvent,
    RoomReactivatedEvent,
    RoomUpdatedEvent,
    SharedPostEvent,
    Stream,
    SymphonyElementsActionEvent,
    User,
    UserJoinedRoomEvent,
    UserLeftRoomEvent,
    UserRequestedToJoinRoomEvent,
)
from symbot.handlers import command, on_event, on_message
from symbot.messages import (
    Message,
    MessageML,
    bold,
    code,
    italic,
    link,
    markup,
    mention,
    plain,
    pre,
)
from symbot.retry import RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthProvider",
    "AuthSession",
    "AuthenticationError",
    "Bot",
    "BotConfig",
    "BotSettings",
    "CertificateAuth",
    "CommandUsageError",
    "ComplianceBlockedError",
    "ConfigError",
    "ConnectionAcceptedEvent",
    "ConnectionRequestedEvent",
    "DatafeedConfig",
    "Event",
    "EventParseError",
    "GenericSystemEvent",
    "InstantMessageCreatedEvent",
    "KeyLoadError",
    "Message",
    "MessageML",
    "MessageRejectedError",
    "MessageSentEvent",
    "MessageSuppressedEvent",
    "RateLimitedError",
    "Redeliver",
    "RetryPolicy",
    "RoomCreatedEvent",
    "RoomDeactivatedEvent",
    "RoomMemberDemotedFromOwnerEvent",
    "RoomMemberPromotedToOwnerEvent",
    "RoomReactivatedEvent",
    "RoomUpdatedEvent",
    "RsaJwtAuth",
    "SessionInfo",
    "SharedPostEvent",
    "Stream",
    "SymbotError",
    "SymphonyClient",
    "SymphonyElementsActionEvent",
    "Timeouts",
    "Tokens",
    "TransportError",
    "User",
    "UserJoinedRoomEvent",
    "UserLeftRoomEvent",
    "UserRequestedToJoinRoomEvent",
    "bold",
    "code",
    "command",
    "italic",
    "link",
    "markup",
    "mention",
    "on_event",
    "on_message",
    "plain",
    "pre",
]
