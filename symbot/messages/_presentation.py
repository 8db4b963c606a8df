"""PresentationML → plain text: what a human reads, from the markup Symphony delivers.

`render_presentation()` is on the datafeed's hot path only when a handler (or a filter) reads
`Message.text`: messages render lazily. Its fast paths cover what almost every message is,
one line of text in the outer `<div>`, optionally with entity spans (mentions, hashtags): with
string methods alone for printable ASCII in the wrapper pods send, else with regular
expressions; anything else goes through `html.parser`. All give the same result (property
tests check).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser

__all__ = ["may_show_slash_word", "presentation_to_text", "render_presentation"]

logger = logging.getLogger("symbot.messages")

_BLOCK_TAGS = frozenset(
    {"div", "p", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "hr", "pre"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "header", "footer", "section"}
    | {"article", "card", "form"}
)
_CELL_TAGS = frozenset(("td", "th"))
_SKIPPED_TAGS = frozenset(("script", "style", "head", "title"))
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_SIMPLE = re.compile(r"\s*<div\b[^<>]*>([^<>\x00\x01]*)</div>\s*", re.ASCII)
_SPAN = r'<span class="entity" data-entity-id="([^"<>&]*)">([^<>\x00\x01]*)</span>'
_ENTITY_SPAN = re.compile(_SPAN)
_ONE_LINE_WITH_SPANS = re.compile(  # possessive: a failed match cannot backtrack for long
    rf"\s*<div\b[^<>]*>((?:[^<>\x00\x01]++|{_SPAN.replace('(', '(?:')})*+)</div>\s*", re.ASCII
)
_TAG = re.compile(r"<[^>]*>")
_MARKERS_OFF = str.maketrans({"\x00": None, "\x01": None})
_WRAPPER = '<div data-format="PresentationML" data-version="2.0">'  # what a pod sends
_WRAPPER_END = "</div>"


class _TextRenderer(HTMLParser):
    """Collects the visible text: blocks and `<br>` make newlines, entity spans are recorded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.pre_depth = 0
        self.skip_depth = 0
        self.entity_texts: dict[str, str] = {}
        self._open_spans: list[tuple[str | None, int, int]] = []  # entity id, line, offset

    def newline(self, *, soft: bool) -> None:
        text = "".join(self.line)
        self.line = []
        if not soft or text.strip():
            self.lines.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag == "br":
            self.newline(soft=False)
        elif tag in _BLOCK_TAGS:
            self.newline(soft=True)
            if tag == "pre":
                self.pre_depth += 1
        elif tag in _CELL_TAGS:
            self.line.append(" ")
        elif tag == "span":
            entity_id = dict(attrs).get("data-entity-id")
            self._open_spans.append((entity_id, len(self.lines), len(self.line)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.newline(soft=False)
        elif tag in _BLOCK_TAGS:
            self.newline(soft=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            if tag == "pre" and self.pre_depth:
                self.pre_depth -= 1
            self.newline(soft=True)
        elif tag == "span" and self._open_spans:
            entity_id, line_no, offset = self._open_spans.pop()
            if entity_id is not None and line_no == len(self.lines):
                self.entity_texts[entity_id] = _collapse("".join(self.line[offset:]))

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        data = data.translate(_MARKERS_OFF)
        if self.pre_depth:
            # Preformatted text keeps its layout: \x00 marks "do not collapse", \x01 a newline.
            self.line.append("\x00" + data.replace("\n", "\x01"))
        else:
            self.line.append(data)

    def finish(self) -> str:
        self.close()
        self.newline(soft=True)
        lines = (_clean_line(line) for line in self.lines)
        return "\n".join(_squeeze_blank_lines(lines)).strip("\n")


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _clean_line(line: str) -> str:
    if "\x00" not in line:
        return _collapse(line)
    return line.replace("\x00", "").replace("\x01", "\n").rstrip()


def _squeeze_blank_lines(lines: Iterator[str]) -> Iterator[str]:
    """At most one blank line in a row."""
    blank = False
    for line in lines:
        if line or not blank:
            yield line
        blank = not line


def render_presentation(presentation_ml: str) -> tuple[str, dict[str, str]]:
    """The plain text of `presentation_ml` and the rendered text of each entity span
    (`data-entity-id` → e.g. "@Jane Doe"). Never raises."""
    if presentation_ml.startswith(_WRAPPER) and presentation_ml.endswith(_WRAPPER_END):
        plain = _render_plain(presentation_ml[len(_WRAPPER) : -len(_WRAPPER_END)])
        if plain is not None:
            return plain
    if "<span" not in presentation_ml:
        simple = _SIMPLE.fullmatch(presentation_ml)
        if simple is not None:  # the common case: one line of text, maybe with &amp; & co
            text = simple.group(1)
            return _collapse(unescape(text) if "&" in text else text), {}
    else:
        with_spans = _ONE_LINE_WITH_SPANS.fullmatch(presentation_ml)
        if with_spans is not None:  # the next most common: one line with mentions
            return _render_spans(with_spans.group(1))
    renderer = _TextRenderer()
    try:
        renderer.feed(presentation_ml)
        return renderer.finish(), renderer.entity_texts
    except Exception:  # html.parser gives up on some garbage; a crude strip is better than nothing
        logger.debug("PresentationML did not parse; stripping tags instead", exc_info=True)
        return _collapse(unescape(_TAG.sub(" ", presentation_ml))), {}


_SPAN_OPEN = '<span class="entity" data-entity-id="'


def _render_plain(inner: str) -> tuple[str, dict[str, str]] | None:
    """The commonest `<div>` content, rendered with string methods alone: printable ASCII
    text, no character references, nothing but entity spans as markup. None otherwise.
    (In printable ASCII the only whitespace is the space, so `split()` collapses exactly.)"""
    if not (inner.isascii() and inner.isprintable()) or "&" in inner:
        return None
    if "<" not in inner:
        return None if ">" in inner else (" ".join(inner.split()), {})
    parts = inner.split(_SPAN_OPEN)
    texts = [parts[0]]
    entity_texts: dict[str, str] = {}
    for part in parts[1:]:
        entity_id, opened, rest = part.partition('">')
        rendered, closed, after = rest.partition("</span>")
        if not (opened and closed) or '"' in entity_id or "<" in entity_id or ">" in entity_id:
            return None
        entity_texts[entity_id] = " ".join(rendered.split())
        texts += (rendered, after)
    text = "".join(texts)
    if "<" in text or ">" in text:
        return None
    return " ".join(text.split()), entity_texts


def _render_spans(inner: str) -> tuple[str, dict[str, str]]:
    """What the parser makes of one line of text and entity spans (`inner`, the `<div>`'s
    content): character references are resolved per text node, as `html.parser` does."""
    parts = _ENTITY_SPAN.split(inner)  # text, (entity id, span text, text)...
    pieces = [unescape(parts[0])]
    entity_texts: dict[str, str] = {}
    for index in range(1, len(parts), 3):
        rendered = unescape(parts[index + 1])
        entity_texts[parts[index]] = _collapse(rendered)
        pieces += (rendered, unescape(parts[index + 2]))
    return _collapse("".join(pieces)), entity_texts


def may_show_slash_word(presentation_ml: str) -> bool:
    """False only when no word of the text of `presentation_ml` can start with "/" followed
    by a letter or digit: no "/command" can be read in it. Several times cheaper than
    rendering, for command matching: without character references, and as text cannot hold
    a bare "<", a "/" that sits in a tag's "</" or "/>" is no such "/" (a property test holds
    this to the renderer)."""
    if "&" in presentation_ml or "</>" in presentation_ml:
        return True
    slashes = presentation_ml.count("/")
    return slashes > presentation_ml.count("</") + presentation_ml.count("/>")


def presentation_to_text(presentation_ml: str) -> str:
    """PresentationML (`<div data-format="PresentationML" …>…</div>`) → plain text.

    Tags are stripped and entities unescaped; mentions read as their rendered "@Name";
    `<br/>` and block elements (div, p, li, tr, h1…) end lines; runs of spaces and source
    newlines collapse to one space; `<pre>` keeps its layout. Never raises: garbage falls back
    to a tag-stripping regex.
    """
    return render_presentation(presentation_ml)[0]
