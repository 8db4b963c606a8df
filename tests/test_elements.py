"""Elements form builders: whatever text goes in comes back out of the XML as that text, names
and choices are checked, and what they build is a form a pod (the emulator) accepts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symbot.emulator._directory import UserDirectory
from symbot.emulator._feeds import AgentApiError
from symbot.emulator._messageml import to_presentation_ml
from symbot.messages import (
    MessageML,
    bold,
    button,
    checkbox,
    document,
    dropdown,
    form,
    markup,
    radio,
    reset_button,
    text_area,
    text_field,
)

# Characters XML 1.0 can carry (escape() drops the others).
xml_text = st.text(
    alphabet=st.characters(
        exclude_categories=["Cs"],
        exclude_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
        + ["\ufffe", "\uffff"],
    )
)


def parsed(fragment: str) -> ET.Element:
    return ET.fromstring(f"<messageML>{fragment}</messageML>")  # noqa: S314 - our own output


@given(xml_text, xml_text, xml_text)
def test_user_text_in_fields_reads_back_exactly_and_adds_no_markup(
    label: str, value: str, placeholder: str
) -> None:
    root = parsed(text_field("name", value, label=label, placeholder=placeholder))
    [field] = list(root)
    assert (field.tag, len(field)) == ("text-field", 0)
    assert field.get("label") == label
    assert field.get("placeholder") == placeholder
    assert (field.text or "") == value


@given(xml_text, xml_text)
def test_option_checkbox_and_button_texts_are_text(value: str, text: str) -> None:
    root = parsed(
        form(
            "f",
            dropdown("d", [(value, text)]),
            checkbox("c", value, text),
            radio("r", value, text),
            button("go", text),
        )
    )
    [built] = list(root)
    select, box, choice, go = list(built)
    assert select[0].get("value") == value
    assert "".join(select[0].itertext()) == text.replace("\n", "")
    assert (box.get("value"), choice.get("value")) == (value, value)
    assert "".join(go.itertext()) == text.replace("\n", "")


def test_a_form_is_what_the_elements_reference_describes() -> None:
    built = form(
        "order",
        text_field("name", required=True, max_length=40, pattern="[A-Z].*", pattern_error="Caps"),
        text_area("notes", "line 1\nline 2", min_length=0),
        dropdown("size", {"s": "Small", "l": "Large"}, selected=["s"], placeholder="Pick"),
        dropdown("toppings", {"a": "A", "b": "B"}, selected=["a", "b"], multiple=True),
        checkbox("extras", "cheese", bold("Cheese"), checked=True),
        radio("pay", "card", "Card", checked=True),
        radio("pay", "cash", "Cash"),
        button("place", "Place order"),
        reset_button(),
    )
    assert isinstance(built, MessageML)
    assert built.startswith('<form id="order"><text-field name="name" maxlength="40"')
    assert 'required="true" pattern="[A-Z].*" pattern-error-message="Caps">' in built
    assert "<textarea" in built
    assert "line 1\nline 2</textarea>" in built
    assert '<select name="size" data-placeholder="Pick">' in built
    assert '<option value="s" selected="true">Small</option>' in built
    assert 'multiple="true"' in built
    assert '<checkbox name="extras" value="cheese" checked="true"><b>Cheese</b></checkbox>' in built
    assert '<button name="place" type="action" class="primary">Place order</button>' in built
    assert '<button type="reset" class="secondary">Reset</button>' in built
    to_presentation_ml(document(built), UserDirectory())  # a pod accepts it


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda: form("f", text_field("a")), "needs at least one action button"),
        (lambda: form("has space", button("b", "B")), "form id 'has space'"),
        (lambda: text_field('x"><b'), "field name"),
        (lambda: button("", "B"), "button name"),
        (lambda: dropdown("d", {}), "at least one option"),
        (lambda: dropdown("d", {"a": "A"}, selected="z"), r"selected \['z'\] are not options"),
        (lambda: dropdown("d", {"a": "A", "b": "B"}, selected=["a", "b"]), "multiple=True"),
        (lambda: button("b", "B", style="loud"), "button style 'loud'"),
        (lambda: text_field("t", max_length=-1), "max_length"),
    ],
)
def test_what_a_pod_would_refuse_is_refused_when_built(build: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build()  # type: ignore[operator]


def test_a_form_bypassing_the_builders_is_still_checked_by_the_emulator() -> None:
    with pytest.raises(AgentApiError, match="needs at least one action button"):
        to_presentation_ml(
            markup('<messageML><form id="f"><text-field name="a"/></form></messageML>'),
            UserDirectory(),
        )
