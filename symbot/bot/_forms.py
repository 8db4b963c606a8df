"""Elements form submissions as handlers see them: `FormSubmission`, and what `on_form` records.

```python
class OrderBot(Bot):
    @on_form("order")
    async def order(self, form: FormSubmission) -> None:
        size = form.text("size")                   # a dropdown's value
        extras = form.choices("extras")            # checkboxes / multiple choices
        await self.send_message(form.stream_id, f"{size} pizza with {', '.join(extras)}")
```

`on_form` (in `symbot.bot._handlers`) records a `FormSpec` (in `symbot.bot._matching`). A
submission arrives as a SYMPHONYELEMENTSACTION event (`SymphonyElementsActionEvent`) whose
`formValues` map each field name to what the user entered, and `"action"` to the name of the
button they clicked. `FormSubmission` is that event, read: `action` apart, `values` without
it, and typed accessors that never fail on what a client sent (a value of an unexpected JSON
type reads as text, or as no choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from attrs import field, frozen

from symbot.datafeed import SymphonyElementsActionEvent
from symbot.messages import Stream, User

__all__ = ["ACTION_KEY", "FormSubmission"]

ACTION_KEY = "action"


@frozen
class FormSubmission:
    """One submission of an Elements form, as an `on_form` handler gets it: `action` is the
    button clicked, `values` the fields (without `action`); `text()`, `choices()` and
    `checked()` read a field and never fail on what a client sent."""

    form_id: str | None
    action: str | None  # the name of the button clicked
    values: Mapping[str, Any] = field(hash=False)  # field name → value, "action" left out
    user: User | None  # who submitted it
    stream: Stream
    form_message_id: str | None  # the message that holds the form
    event: SymphonyElementsActionEvent = field(repr=False, eq=False)

    @classmethod
    def of(cls, event: SymphonyElementsActionEvent) -> FormSubmission:
        raw = event.form_values
        action = raw.get(ACTION_KEY)
        values = MappingProxyType({k: v for k, v in raw.items() if k != ACTION_KEY})
        return cls(
            form_id=event.form_id,
            action=action if isinstance(action, str) else None,
            values=values,
            user=event.initiator,
            stream=event.stream,
            form_message_id=event.form_message_id,
            event=event,
        )

    @property
    def stream_id(self) -> str:
        return self.stream.stream_id

    def text(self, name: str, default: str = "") -> str:
        """The value of field `name` as text (`default` when it was not submitted); a list
        (several choices) reads as its items joined with ", "."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return value if isinstance(value, str) else str(value)

    def choices(self, name: str) -> tuple[str, ...]:
        """The values chosen in field `name` (a multiple dropdown, checkboxes sharing the
        name, a radio group): one value gives one choice, nothing gives none."""
        value = self.values.get(name)
        if value is None or value == "":
            return ()
        items = value if isinstance(value, list) else [value]
        return tuple(str(item) for item in items if isinstance(item, str | int | float))

    def checked(self, name: str) -> bool:
        """Whether checkbox `name` was ticked (it submits its value only when ticked)."""
        return bool(self.choices(name))
