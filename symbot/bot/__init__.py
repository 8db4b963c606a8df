"""Bots: the `Bot` class, its handler decorators, and what runs handlers in order.

- `Bot`: subclass it, decorate methods with `on_message`, `on_event`, `command`, `on_form`,
  and `run()` it; its lifecycle (`serve`/`stop`) owns the client, the datafeed loop and the
  handlers; while it serves, `bot.users`, `bot.streams` and `bot.messages` are the services.
- The dispatcher runs the handlers of each batch: per-stream order, streams concurrent under
  one limiter, duplicates dropped, acknowledgement only once the batch is handled.
- The outbox sends MessageML, paced per stream.
- `BotHealth` is what `Bot.health()` says: ready or not, and why; `Bot.metrics()` gives every
  figure in the Prometheus text format; with `health.port` set, a bot serves both
  (`symbot.health.HealthServer`).

May import: `symbot.apps` (`Bot.obo`), `symbot.services`, `symbot.datafeed`,
`symbot.client`, `symbot.messages`, `symbot.auth` (types), `symbot.transport` (stats),
`symbot.health`, `symbot.config`, `symbot.errors`, `symbot._lifecycle`.
"""

from symbot.bot._bot import Bot
from symbot.bot._dispatch import Dispatcher, DispatchStats, SeenEvents, in_handler
from symbot.bot._forms import FormSubmission
from symbot.bot._handlers import Registry, command, help_text, on_event, on_form, on_message
from symbot.bot._health import BotHealth
from symbot.bot._matching import Invocation, MatchContext
from symbot.bot._outbox import Outbox

__all__ = [
    "Bot",
    "BotHealth",
    "DispatchStats",
    "Dispatcher",
    "FormSubmission",
    "Invocation",
    "MatchContext",
    "Outbox",
    "Registry",
    "SeenEvents",
    "command",
    "help_text",
    "in_handler",
    "on_event",
    "on_form",
    "on_message",
]
