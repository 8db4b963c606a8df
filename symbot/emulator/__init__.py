"""The Symphony emulator: a pod, Key Manager, session auth and agent on loopback or in-process.

```python
async with Emulator() as emu:            # or in-process: emu.transport() + emu.base_url
    bot = emu.add_user("bot")             # RSA key pair generated; bot.private_key_pem
    emu.https_url, emu.ca_bundle          # one origin for every role, emulator CA
```
"""

from symbot.emulator.app import Counters, ReceivedRequest
from symbot.emulator.ca import IssuedCertificate
from symbot.emulator.core import Emulator, emulator_config_toml
from symbot.emulator.feeds import FeedInfo
from symbot.emulator.streams import SentMessage
from symbot.emulator.users import EmulatedUser

__all__ = [
    "Counters",
    "EmulatedUser",
    "Emulator",
    "FeedInfo",
    "IssuedCertificate",
    "ReceivedRequest",
    "SentMessage",
    "emulator_config_toml",
]
