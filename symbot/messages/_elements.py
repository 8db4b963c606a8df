"""Symphony Elements: forms a user fills in, built as MessageML that user text cannot break.

```python
order = form(
    "order",
    text_field("name", label="Your name", required=True),
    dropdown("size", {"s": "Small", "l": "Large"}, label="Size", selected="s"),
    checkbox("extras", "cheese", "Extra cheese"),
    button("place", "Place order"),
)
await bot.send_message(stream_id, order)
```

Every builder returns a `MessageML` fragment: labels, placeholders, initial values and option
texts are escaped like any other text (`<`, `&`, quotes, Freemarker's `$`/`#`), names and ids
are checked. When a user submits the form, the bot receives a SYMPHONYELEMENTSACTION event
with the form id and the values by field name, the clicked button's name under `"action"`
(see `symbot.bot.on_form`).

The tags and attributes follow Symphony's Elements reference: `<form id>`, `<text-field>`,
`<textarea>`, `<select>`/`<option>`, `<checkbox>`, `<radio>` and `<button type="action|reset">`.
A pod refuses a form without an action button, so `form()` does too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from symbot.messages._messageml import MessageML, _join, _markup, escape

__all__ = [
    "BUTTON_STYLES",
    "button",
    "checkbox",
    "dropdown",
    "form",
    "radio",
    "reset_button",
    "text_area",
    "text_field",
]

BUTTON_STYLES = frozenset(("primary", "secondary", "tertiary", "destructive"))
"""The `class` values Symphony gives buttons."""

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,256}")
_ATTRIBUTE_WHITESPACE = str.maketrans({"\n": "&#10;", "\t": "&#9;"})  # else read back as spaces
_ACTION_BUTTON = re.compile(r'<button\b[^>]*\btype="action"')


def _checked_name(value: str, what: str) -> str:
    """A form id or field name: letters, digits and `_ . : -` (they travel in events as JSON
    keys and must be stable across renderings)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} must be 1-256 letters, digits or _ . : - (no spaces or markup)"
        )
    return value


def _attributes(**values: str | int | bool | None) -> str:
    """` name="value"` pairs, escaped, for the values given (None and False left out);
    underscores in names become dashes (`pattern_error_message` → `pattern-error-message`)."""
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        text = "true" if value is True else str(value)
        value_ml = escape(text).translate(_ATTRIBUTE_WHITESPACE)
        parts.append(f' {name.replace("_", "-")}="{value_ml}"')
    return "".join(parts)


def form(form_id: str, *parts: str) -> MessageML:
    """`<form id="form_id">…</form>` around the parts (fields, buttons, text; plain `str`
    parts are escaped). ValueError if no part is an action `button()`: a pod refuses such a
    form."""
    body = _join(parts)
    if not _ACTION_BUTTON.search(body):
        raise ValueError(f"form {form_id!r} needs at least one action button: add button(...)")
    return MessageML(f"<form{_attributes(id=_checked_name(form_id, 'form id'))}>{body}</form>")


def _length(value: int | None, what: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
    return value


def _text_input(
    tag: str,
    name: str,
    value: str,
    min_length: int | None,
    max_length: int | None,
    **attributes: str | bool | None,
) -> MessageML:
    """`<tag name=… …>value</tag>`: a text field or area, its name and lengths checked."""
    body = _attributes(
        name=_checked_name(name, "field name"),
        minlength=_length(min_length, "min_length"),
        maxlength=_length(max_length, "max_length"),
        **attributes,
    )
    return MessageML(f"<{tag}{body}>{escape(value)}</{tag}>")


def text_field(
    name: str,
    value: str = "",
    *,
    label: str | None = None,
    placeholder: str | None = None,
    title: str | None = None,
    required: bool = False,
    masked: bool = False,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    pattern_error: str | None = None,
) -> MessageML:
    """A one-line `<text-field>`; `value` is its initial text, `masked` hides what is typed,
    `pattern` is a regular expression the value must match (`pattern_error` says why not)."""
    return _text_input(
        "text-field",
        name,
        value,
        min_length,
        max_length,
        label=label,
        placeholder=placeholder,
        title=title,
        required=required,
        masked=masked,
        pattern=pattern,
        pattern_error_message=pattern_error,
    )


def text_area(
    name: str,
    value: str = "",
    *,
    label: str | None = None,
    placeholder: str | None = None,
    title: str | None = None,
    required: bool = False,
    min_length: int | None = None,
    max_length: int | None = None,
) -> MessageML:
    """A multi-line `<textarea>`; `value` is its initial text (newlines kept)."""
    return _text_input(
        "textarea",
        name,
        value,
        min_length,
        max_length,
        label=label,
        placeholder=placeholder,
        title=title,
        required=required,
    )


def dropdown(
    name: str,
    options: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    selected: str | Iterable[str] | None = None,
    label: str | None = None,
    placeholder: str | None = None,
    title: str | None = None,
    required: bool = False,
    multiple: bool = False,
) -> MessageML:
    """A `<select>` of `options` (value → text, in order); `selected` value(s) are chosen
    at first. With `multiple`, the submitted value is a list (see `FormSubmission.choices`).
    ValueError if `selected` names a value that is not an option."""
    pairs = list(options.items() if isinstance(options, Mapping) else options)
    if not pairs:
        raise ValueError(f"dropdown {name!r} needs at least one option")
    chosen = {selected} if isinstance(selected, str) else set(selected or ())
    unknown = chosen - {value for value, _ in pairs}
    if unknown:
        raise ValueError(f"dropdown {name!r}: selected {sorted(unknown)} are not options")
    if len(chosen) > 1 and not multiple:
        raise ValueError(f"dropdown {name!r}: several values selected without multiple=True")
    items = "".join(
        f"<option{_attributes(value=value, selected=value in chosen)}>{_markup(text)}</option>"
        for value, text in pairs
    )
    attributes = _attributes(
        name=_checked_name(name, "field name"),
        label=label,
        data_placeholder=placeholder,
        title=title,
        required=required,
        multiple=multiple,
    )
    return MessageML(f"<select{attributes}>{items}</select>")


def checkbox(name: str, value: str, text: str, *, checked: bool = False) -> MessageML:
    """A `<checkbox>` showing `text`; when ticked, the form submits `value` under `name`."""
    attributes = _attributes(name=_checked_name(name, "field name"), value=value, checked=checked)
    return MessageML(f"<checkbox{attributes}>{_markup(text)}</checkbox>")


def radio(name: str, value: str, text: str, *, checked: bool = False) -> MessageML:
    """A `<radio>` button showing `text`; radios sharing `name` are one choice, and the form
    submits the `value` of the one chosen."""
    attributes = _attributes(name=_checked_name(name, "field name"), value=value, checked=checked)
    return MessageML(f"<radio{attributes}>{_markup(text)}</radio>")


def _style(style: str) -> str:
    if style not in BUTTON_STYLES:
        raise ValueError(f"button style {style!r} must be one of {sorted(BUTTON_STYLES)}")
    return style


def button(name: str, text: str, *, style: str = "primary") -> MessageML:
    """An action `<button>` that submits the form; the submission's `action` is `name`."""
    attributes = _attributes(
        name=_checked_name(name, "button name"), type="action", **{"class": _style(style)}
    )
    return MessageML(f"<button{attributes}>{_markup(text)}</button>")


def reset_button(text: str = "Reset", *, style: str = "secondary") -> MessageML:
    """A `<button type="reset">` that puts the form back to its initial values."""
    return MessageML(
        f"<button{_attributes(type='reset', **{'class': _style(style)})}>{_markup(text)}</button>"
    )
