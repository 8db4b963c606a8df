"""Messages: escaping and building MessageML, PresentationML → text, EntityJSON, reply()."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symbot.messages import (
    Message,
    MessageML,
    Stream,
    User,
    bold,
    code,
    document,
    escape,
    italic,
    link,
    markup,
    may_show_slash_word,
    mention,
    mentions_from_data,
    parse_entity_json,
    plain,
    pre,
    presentation_to_text,
    render_presentation,
    to_message_ml,
)

pytestmark = pytest.mark.anyio

# Characters XML 1.0 can carry (escape() drops the others).
xml_text = st.text(
    alphabet=st.characters(
        exclude_categories=["Cs"],
        exclude_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
        + ["\ufffe", "\uffff"],
    )
)


def xml_text_content(message_ml: str) -> str:
    root = ET.fromstring(message_ml)  # noqa: S314 - our own output, no DTD
    return "".join(root.itertext())


# --- escaping -------------------------------------------------------------------------------


@given(xml_text)
def test_escaped_text_inside_message_ml_always_parses_back_to_itself(text: str) -> None:
    assert xml_text_content(f"<messageML>{escape(text)}</messageML>") == text


@given(xml_text)
def test_escaped_text_never_contains_markup_or_template_openers(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert "${" not in escaped
    assert "#{" not in escaped
    assert "$" not in escaped


@given(xml_text, xml_text)
def test_concatenated_escaped_parts_cannot_form_a_template(a: str, b: str) -> None:
    joined = escape(a) + escape(b)
    assert "${" not in joined
    assert "#{" not in joined


@pytest.mark.parametrize(
    ("hostile", "escaped"),
    [
        ("</messageML><script>x</script>", "&lt;/messageML&gt;&lt;script&gt;x&lt;/script&gt;"),
        ("${7*7}", "&#36;{7*7}"),
        ("#{7*7}", "&#35;{7*7}"),
        ("&amp;", "&amp;amp;"),
        ('<a href="x">', "&lt;a href=&quot;x&quot;&gt;"),
        ("it's", "it&#39;s"),
        ("a\rb", "a&#13;b"),
    ],
)
def test_hostile_text_is_escaped(hostile: str, escaped: str) -> None:
    assert escape(hostile) == escaped
    assert xml_text_content(to_message_ml(hostile)) == hostile


def test_characters_xml_cannot_carry_are_dropped() -> None:
    assert escape("a\x00b\x1bc\ufffe") == "abc"


def test_plain_text_becomes_a_message_ml_document_with_line_breaks() -> None:
    assert to_message_ml("a < b\nc & d") == "<messageML>a &lt; b<br/>c &amp; d</messageML>"


def test_trusted_markup_documents_pass_through_unchanged() -> None:
    ml = "<messageML><b>hi</b></messageML>"
    assert to_message_ml(markup(ml)) == ml
    assert to_message_ml(markup("  " + ml)) == "  " + ml
    assert to_message_ml(markup("<b>hi</b>")) == ml


@pytest.mark.parametrize("wrap", [str, plain], ids=["str", "plain"])
def test_user_text_that_looks_like_a_document_is_escaped(wrap: Callable[[str], str]) -> None:
    hostile = "<messageML><mention uid='1'/></messageML>"
    sent = to_message_ml(wrap(hostile))
    assert xml_text_content(sent) == hostile
    assert "<mention" not in sent


def test_builders_escape_every_text_part() -> None:
    built = bold("x<y ", mention(42), " ", italic("${z}")) + code("a&b") + " <i>"
    assert isinstance(built, MessageML)
    assert built == (
        '<b>x&lt;y <mention uid="42"/> <i>&#36;{z}</i></b><code>a&amp;b</code> &lt;i&gt;'
    )
    assert "<i>" + bold("b") == "&lt;i&gt;<b>b</b>"
    assert to_message_ml(built).startswith("<messageML><b>")
    ET.fromstring(to_message_ml(built))  # noqa: S314 - well-formed


def test_document_and_pre_and_links() -> None:
    assert document("a", bold("b")) == "<messageML>a<b>b</b></messageML>"
    assert to_message_ml(document("x")) == "<messageML>x</messageML>"
    assert pre("a\n  b") == "<pre>a\n  b</pre>"
    assert plain("a\nb") == "a<br/>b"
    assert link('https://e.com/?a=1&b="2"', "go <now>") == (
        '<a href="https://e.com/?a=1&amp;b=&quot;2&quot;">go &lt;now&gt;</a>'
    )
    assert link("https://e.com") == '<a href="https://e.com">https://e.com</a>'


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "e.com"])
def test_links_refuse_unsafe_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="must start with"):
        link(url)


def test_mention_takes_only_a_user_id() -> None:
    with pytest.raises(TypeError):
        mention("42")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mention(True)


# --- PresentationML → text ------------------------------------------------------------------

PML = '<div data-format="PresentationML" data-version="2.0" class="wysiwyg">{}</div>'


@pytest.mark.parametrize(
    ("inner", "text"),
    [
        ("hello   world", "hello world"),
        ("a &amp; b &lt;c&gt; &#36;{x} &quot;q&quot;", 'a & b <c> ${x} "q"'),
        ('<span class="entity" data-entity-id="0">@Jane Doe</span> hi', "@Jane Doe hi"),
        ("line one<br/>line two<br />three", "line one\nline two\nthree"),
        ("<p>para</p><p>graph</p>", "para\ngraph"),
        ("<b>bold <i>and italic</i></b> text", "bold and italic text"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1 2\n3"),
        ("<pre>  indented\n    code</pre>after", "  indented\n    code\nafter"),
        ("a<br/><br/><br/><br/>b", "a\n\nb"),
        ("  \n  spaced \n\n out  ", "spaced out"),
        ("<script>alert(1)</script>visible", "visible"),
        ("", ""),
    ],
)
def test_presentation_ml_to_text(inner: str, text: str) -> None:
    assert presentation_to_text(PML.format(inner)) == text


@pytest.mark.parametrize(
    "garbage",
    ["", "<", "<<<>>>&&&", "<div", "</div></div>", "<![CDATA[x", "<!--", "<div>\x00</div>", "&#x;"],
)
def test_garbage_never_raises(garbage: str) -> None:
    assert isinstance(presentation_to_text(garbage), str)


@given(st.text())
def test_any_text_converts_without_raising(text: str) -> None:
    assert isinstance(presentation_to_text(text), str)


SPACES = re.compile(r"[ \t\n\r\f\v]+")  # what HTML collapses (not every Unicode space)


def collapsed(text: str) -> str:
    return SPACES.sub(" ", text).strip()


def _span(entity_id: str, text: str) -> str:
    return f'<span class="entity" data-entity-id="{entity_id}">{text}</span>'


POD_PML = '<div data-format="PresentationML" data-version="2.0">{}</div>'  # what pods send


@given(xml_text, st.sampled_from([POD_PML, PML, "<p>{}</p>", "{}"]))
def test_escaped_text_reads_back_as_itself_with_its_spaces_collapsed(
    text: str, wrapper: str
) -> None:
    assert presentation_to_text(wrapper.format(escape(text))) == collapsed(text)


@given(
    st.lists(
        st.tuples(st.text(alphabet="abc01 -", min_size=1, max_size=3), xml_text, xml_text),
        max_size=3,
    ),
    xml_text,
)
def test_entity_spans_read_as_their_text_and_are_recorded_by_id(
    spans: list[tuple[str, str, str]], before: str
) -> None:
    markup = escape(before) + "".join(
        _span(entity_id, escape(inside)) + escape(after) for entity_id, inside, after in spans
    )
    text, entity_texts = render_presentation(POD_PML.format(markup))
    assert text == collapsed(before + "".join(inside + after for _, inside, after in spans))
    assert entity_texts == {entity_id: collapsed(inside) for entity_id, inside, _ in spans}


@given(xml_text, xml_text)
def test_comments_and_declarations_are_not_text(before: str, after: str) -> None:
    hidden = "<!-- /secret --><!DOCTYPE html><![CDATA[ /x ]]><?pi /y?>"
    rendered = presentation_to_text(PML.format(escape(before) + hidden + escape(after)))
    assert rendered == collapsed(before + after)


MARKUP_BITS = [
    *("/", "/help", "</", "/>", "</>", "<", ">", "< /", "</ ", "</3", "<3", " ", "\n", "x"),
    *("&", "&#47;", "&sol;", "&#x2F;", "&lt;/b&gt;", "<b>", "</b>", "<br/>", "<br />", "<p>"),
    *("<!--", "-->", "<![CDATA[", "]]>", '<a href="/x">', "</a>", "<pre>", "</pre>"),
    *('<span class="entity" data-entity-id="0">', "</span>", "<div>", "</div>"),
]
SLASH_WORD = re.compile(r"(?<!\S)/[^\W_]")  # what a "/command" starts with


@settings(max_examples=500)
@given(
    st.lists(st.sampled_from(MARKUP_BITS) | st.text(max_size=4)).map("".join),
    st.sampled_from([POD_PML, PML, "{}"]),
)
def test_a_slash_word_in_the_text_is_never_missed_by_the_cheap_check(
    inner: str, wrapper: str
) -> None:
    presentation_ml = wrapper.format(inner)
    if SLASH_WORD.search(presentation_to_text(presentation_ml)):
        assert may_show_slash_word(presentation_ml)


@pytest.mark.parametrize(
    ("inner", "may"),
    [
        ("hello bot", False),
        ('<span class="entity" data-entity-id="0">@Bot</span> hello<br/>there', False),
        ("/help", True),
        ('<span class="entity" data-entity-id="0">@Bot</span> /help', True),
        ("&#47;help", True),  # a reference may be a slash
        ("</> /help", True),  # "</>" holds the one "/" that "</" and "/>" both count
        ("see https://example.com/x", True),  # a slash, though not a command: read it
    ],
)
def test_the_cheap_check_rejects_only_texts_without_a_slash(inner: str, may: bool) -> None:
    assert may_show_slash_word(POD_PML.format(inner)) is may


def test_entity_spans_are_recorded_for_mentions() -> None:
    inner = '<span class="entity" data-entity-id="m1">@Bot  Name</span> /help'
    assert render_presentation(PML.format(inner)) == ("@Bot Name /help", {"m1": "@Bot Name"})


# --- EntityJSON -----------------------------------------------------------------------------


def _mention_entity(value: object) -> dict[str, Any]:
    return {
        "type": "com.symphony.user.mention",
        "version": "1.0",
        "id": [{"type": "com.symphony.user.userId", "value": value}],
    }


def test_mentions_come_from_mention_entities_in_order_without_duplicates() -> None:
    data = {
        "0": _mention_entity("12"),
        "1": {"type": "org.symphonyoss.fin.security", "id": [{"value": "AAPL"}]},
        "2": _mention_entity(7),
        "3": _mention_entity("12"),
        "4": _mention_entity("not-a-number"),
        "5": _mention_entity(True),
        "6": "junk",
    }
    assert mentions_from_data(data) == (12, 7)


def test_entity_json_nested_past_the_recursion_limit_is_empty_not_an_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    msg = make_message(data=deep)
    assert (msg.data, msg.mentions, msg.text) == ({}, (), "@Bot hi")


@pytest.mark.parametrize(
    ("data", "parsed"),
    [
        ('{"a": {"b": 1}}', {"a": {"b": 1}}),
        ({"a": 1}, {"a": 1}),
        ("", {}),
        (None, {}),
        ("{broken", {}),
        ("[1, 2]", {}),
        ("42", {}),
        (42, {}),
    ],
)
def test_entity_json_string_is_parsed_and_malformed_data_is_empty(
    data: object, parsed: dict[str, Any]
) -> None:
    assert parse_entity_json(data) == parsed


# --- Message --------------------------------------------------------------------------------


def make_message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "message_id": "m1",
        "stream": Stream("s1", "IM"),
        "sender": User(7, "alice"),
        "timestamp": 1,
        "presentation_ml": PML.format('<span class="entity" data-entity-id="0">@Bot</span> hi'),
        "data": {"0": _mention_entity("99")},
    }
    return Message(**(fields | overrides))


def test_a_message_built_directly_derives_text_and_mentions() -> None:
    msg = make_message()
    assert msg.text == "@Bot hi"
    assert msg.mentions == (99,)
    assert msg.mentions_user(99)
    assert not msg.mentions_user(7)
    assert msg.text_without_mention(99) == "hi"
    assert msg.text_without_mention(7) == "@Bot hi"
    assert msg.stream_id == "s1"


def test_text_mentions_and_data_come_from_entity_json_text_as_symphony_sends_it() -> None:
    data = {"0": _mention_entity(99)}
    from_text = make_message(data=json.dumps(data))
    assert from_text.data == data
    assert from_text.mentions == (99,)
    assert from_text.text_without_mention(99) == "hi"
    assert from_text == make_message(data=data)
    assert hash(from_text) == hash(make_message(data=data))
    assert make_message(data="{}").data == {}
    assert make_message(data=None).mentions == ()


def test_values_given_explicitly_win_over_what_the_markup_says() -> None:
    msg = make_message(text="given", mentions=(5,), mention_texts={5: "@Five"})
    assert (msg.text, msg.mentions) == ("given", (5,))
    assert msg.text_without_mention(5) == "given"  # "given" does not start with "@Five"
    assert msg != make_message()
    assert "text='given'" in repr(msg)


def test_leading_mention_falls_back_to_the_display_name() -> None:
    msg = make_message(presentation_ml=PML.format("@My Bot /help"), data={})
    assert msg.text_without_mention(99, display_name="my bot") == "/help"


async def test_reply_without_a_replier_says_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="no replier is bound"):
        await make_message().reply("hi")


async def test_reply_sends_escaped_message_ml_through_the_bound_replier() -> None:
    sent: list[tuple[str, str, Mapping[str, Any] | None]] = []

    async def replier(stream_id: str, message_ml: str, data: Mapping[str, Any] | None) -> None:
        sent.append((stream_id, message_ml, data))

    msg = make_message().with_replier(replier)
    assert await msg.reply("${x} & <y>", data={"k": 1}) is None
    await msg.reply(bold("ok"))
    assert sent == [
        ("s1", "<messageML>&#36;{x} &amp; &lt;y&gt;</messageML>", {"k": 1}),
        ("s1", "<messageML><b>ok</b></messageML>", None),
    ]


def test_replier_is_not_part_of_equality_or_repr() -> None:
    async def replier(stream_id: str, message_ml: str, data: Mapping[str, Any] | None) -> None:
        return None

    msg = make_message()
    bound = msg.with_replier(replier)
    assert bound == msg
    assert "replier" not in repr(bound)
    assert "presentation_ml" not in repr(bound)
    assert json.dumps(bound.data)  # data stays plain JSON


def test_a_message_may_hold_a_slash_command_by_its_text_once_known() -> None:
    assert not make_message().may_hold_slash_command()  # from the PresentationML, unread
    assert make_message(presentation_ml=PML.format("/help")).may_hold_slash_command()
    assert make_message(presentation_ml="", text="/help").may_hold_slash_command()
    assert not make_message(presentation_ml=PML.format("/help"), text="hi").may_hold_slash_command()
