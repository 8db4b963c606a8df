"""The steps of the fidelity tier: what the official BDK does against the emulator, in order.

Each step is a function registered with `@step(name, *routes)` (see `registrar` in
fidelity/harness.py), where `routes` are the emulator routes it proves ("METHOD /path", as
the emulator spells them; checked: the step must reach each one). An endpoint added to the
emulator is one more step, or one more entry in `NOT_CALLABLE` saying why the BDK cannot
call it; `tests/test_fidelity.py` fails until it is one or the other.

- fidelity/bot_steps.py: the BDK as a bot (logins, datafeed, messages, users, streams);
- fidelity/app_steps.py: the BDK as an app (on behalf of users, extension apps, access
  tokens), after the bot's steps.

A step talks to the BDK through `run` (`run.call("rsa", "messages.send_message", ...)`, see
fidelity/harness.py), plays the pod's other side on the emulators (`run.strict.send(...)`),
and states what must hold with `run.expect(condition, problem, side=...)`.
"""

from __future__ import annotations

from fidelity import app_steps, bot_steps
from fidelity.harness import Step

__all__ = ["NOT_CALLABLE", "STEPS"]

STEPS: list[Step] = [*bot_steps.STEPS, *app_steps.STEPS]

NOT_CALLABLE: dict[str, str] = {}
"""Emulator routes the BDK has no way to call, each with the reason."""
