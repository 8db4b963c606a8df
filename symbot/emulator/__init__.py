"""The Symphony emulator: a pod, Key Manager, session auth and agent on loopback or in-process.

```python
async with Emulator() as emu:            # or in-process: emu.transport() + emu.base_url
    bot = emu.add_user("bot")             # RSA key pair generated; bot.private_key_pem
    app = emu.add_app("my-app")           # an app: OBO, extension-app authentication
    emu.https_url, emu.ca_bundle          # one origin for every role, emulator CA
    emu.send("alice", im, "hi", attachments=[("a.txt", b"...")])   # people act
    emu.submit_form("alice", form_message_id, {"name": "Al"})     # a form comes back
    emu.clock.offset = -600               # the servers' clock ten minutes behind
```

It serves the login, datafeed, message, user, stream, room and suppression endpoints a bot
calls, with the spec's shapes and refusals, and emits the events a pod does.

The emulator is the server side of every test and of the demo, so it does not borrow the
client's view of the protocol: it has its own HTTP vocabulary, token store, datafeed model
and MessageML handling, written from Symphony's specifications.

May import: `symbot.auth` (key generation only), `symbot._lifecycle` and
`symbot.__version__`; nothing else of symbot's.
"""

from symbot.emulator._app import Counters, ReceivedRequest
from symbot.emulator._apps import EmulatedApp
from symbot.emulator._ca import IssuedCertificate
from symbot.emulator._clock import EmulatorClock
from symbot.emulator._config_files import emulator_config_toml
from symbot.emulator._core import Emulator
from symbot.emulator._faults import Body
from symbot.emulator._feeds import FeedInfo
from symbot.emulator._streams import SentMessage, StoredAttachment
from symbot.emulator._users import EmulatedUser

__all__ = [
    "Body",
    "Counters",
    "EmulatedApp",
    "EmulatedUser",
    "Emulator",
    "EmulatorClock",
    "FeedInfo",
    "IssuedCertificate",
    "ReceivedRequest",
    "SentMessage",
    "StoredAttachment",
    "emulator_config_toml",
]
