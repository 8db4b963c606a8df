"""Symphony Elements in the emulated pod: forms are checked when sent, and submitted by users.

A pod refuses (400) a message whose forms break Elements' rules; the emulator checks the ones
a client can get wrong: a `<form>` needs an `id` (unique in the message) and at least one
action button, and is not nested in another; inputs (`<text-field>`, `<textarea>`,
`<select>`, `<checkbox>`, `<radio>`, ...) and buttons live inside a form and have a `name`
(a reset button excepted); a `<select>` has options, each with a `value`.

`forms_in()` tells what a sent message's forms hold, so that `Emulator.submit_form` can
refuse what no user could submit (an unknown field or button) and build the
SYMPHONYELEMENTSACTION event a pod sends to the bot that posted the form.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from attrs import frozen

from symbot.emulator._feeds import AgentApiError

__all__ = ["FIELD_TAGS", "FormInfo", "check_forms", "forms_in"]

FIELD_TAGS = frozenset(
    {
        "text-field",
        "textarea",
        "select",
        "checkbox",
        "radio",
        "person-selector",
        "date-selector",
        "time-picker",
        "timezone-picker",
        "room-selector",
    }
)
"""The Elements that submit a value under their `name`."""


@frozen
class FormInfo:
    """What one form of a message holds: its field names and its action buttons' names."""

    form_id: str
    fields: frozenset[str]
    actions: tuple[str, ...]


def _refuse(problem: str) -> AgentApiError:
    return AgentApiError(400, f"invalid Elements form: {problem}")


def _walk(node: ET.Element) -> Iterator[ET.Element]:
    for child in node:
        yield child
        yield from _walk(child)


def _read_form(form: ET.Element) -> FormInfo:
    form_id = form.get("id")
    if not form_id:
        raise _refuse("a <form> needs an id attribute")
    fields: set[str] = set()
    actions: list[str] = []
    for node in _walk(form):
        if node.tag == "form":
            raise _refuse(f"form {form_id!r} contains another form")
        if node.tag == "button":
            kind = node.get("type", "action")
            if kind not in ("action", "reset"):
                raise _refuse(f"button type {kind!r} must be action or reset")
            if kind == "action":
                name = node.get("name")
                if not name:
                    raise _refuse(f"an action button of form {form_id!r} needs a name")
                actions.append(name)
        elif node.tag in FIELD_TAGS:
            name = node.get("name")
            if not name:
                raise _refuse(f"a <{node.tag}> of form {form_id!r} needs a name")
            fields.add(name)
            if node.tag == "select":
                options = [child for child in node if child.tag == "option"]
                if not options or any(option.get("value") is None for option in options):
                    raise _refuse(f"<select name={name!r}> needs options, each with a value")
    if not actions:
        raise _refuse(f"form {form_id!r} needs at least one action button")
    return FormInfo(form_id, frozenset(fields), tuple(actions))


def forms_in(root: ET.Element) -> list[FormInfo]:
    """The forms of a parsed `<messageML>`, in order; AgentApiError 400 if one is invalid
    or an input or button stands outside any form."""
    forms: list[FormInfo] = []
    inside: set[int] = set()
    for node in _walk(root):
        if node.tag == "form" and id(node) not in inside:
            forms.append(_read_form(node))
            inside.update(id(child) for child in _walk(node))
    for node in _walk(root):
        if (node.tag in FIELD_TAGS or node.tag == "button") and id(node) not in inside:
            raise _refuse(f"<{node.tag}> must be inside a <form>")
    ids = [form.form_id for form in forms]
    duplicates = sorted({form_id for form_id in ids if ids.count(form_id) > 1})
    if duplicates:
        raise _refuse(f"form ids {duplicates} are used twice in one message")
    return forms


_ELEMENT_TAGS = FIELD_TAGS | {"form", "button"}


def check_forms(root: ET.Element) -> None:
    """AgentApiError 400 unless every form of the parsed `<messageML>` is valid."""
    if any(node.tag in _ELEMENT_TAGS for node in root.iter()):
        forms_in(root)
