"""PresentationML → plain text: what a human reads, from the markup Symphony delivers.

One renderer: a regular expression cuts the markup into tokens (text, a tag, a comment or
declaration), and one loop turns them into lines. Block elements and `<br/>` end lines, table
cells are spaced, `<pre>` keeps its layout, script and style content is dropped, character
references are resolved, and the text of each entity span (`data-entity-id`: a mention, a
hashtag) is recorded, so that a mention can be recognised in the text. Markup that is not
well-formed never raises: a `<` that opens no tag is text, an unterminated comment hides
the rest.

Messages render lazily (`Message.text`), so this is on the datafeed's path only for the
handlers that read the text. `may_show_slash_word` is not a renderer but a check that
answers, without rendering, whether a "/command" may be in the text; a property test holds
it to this renderer.
"""

from __future__ import annotations

import re
from html import unescape

__all__ = ["may_show_slash_word", "presentation_to_text", "render_presentation"]

_BLOCK_TAGS = frozenset(
    {"div", "p", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "hr", "pre"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "header", "footer", "section"}
    | {"article", "card", "form"}
)
_CELL_TAGS = frozenset(("td", "th"))
_SKIPPED_TAGS = frozenset(("script", "style", "head", "title"))

_TOKENS = re.compile(
    r"""
      (?P<text>[^<]+)
    | <(?P<close>/?)(?P<tag>[A-Za-z][^\t\n\f\r /<>]*)
        (?P<attributes>(?:[^'"<>]++|"[^"<]*+"|'[^'<]*+')*+)>
    | <!--.*?(?:-->|\Z) | <!\[CDATA\[.*?(?:]]>|\Z) | <[!?/][^>]*(?:>|\Z)
    | (?P<lone><)
    """,
    re.DOTALL | re.VERBOSE,
)
"""Text; a start or end tag; a comment, CDATA, declaration or stray `</...>` (dropped);
a `<` that opens none of these (text). No token but a comment or declaration reaches past
the next `<`, and the quantifiers are possessive (no backtracking), so hostile markup costs
linear time."""
_ENTITY_ID = re.compile(r"""\bdata-entity-id\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_MARKERS_OFF = str.maketrans({"\x00": None, "\x01": None})


class _Lines:
    """The text being laid out: finished lines, the current line's pieces, open spans."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line: list[str] = []
        self.entity_texts: dict[str, str] = {}
        self.open_spans: list[tuple[str | None, int, int]] = []  # entity id, line, offset
        self.pre_depth = 0
        self.skip_depth = 0

    def text(self, data: str) -> None:
        if self.skip_depth:
            return
        if "&" in data:
            data = unescape(data)
        if "\x00" in data or "\x01" in data:
            data = data.translate(_MARKERS_OFF)
        if self.pre_depth:
            # Preformatted text keeps its layout: \x00 marks "do not collapse", \x01 a newline.
            self.line.append("\x00" + data.replace("\n", "\x01"))
        else:
            self.line.append(data)

    def newline(self, *, soft: bool) -> None:
        """End the line; a soft break (a block's edge) leaves no empty line behind."""
        text = "".join(self.line)
        self.line = []
        if not soft or text.strip():
            self.lines.append(text)

    def start(self, tag: str, attributes: str) -> None:
        if tag in _SKIPPED_TAGS:
            if not attributes.endswith("/"):
                self.skip_depth += 1
        elif tag == "br":
            self.newline(soft=False)
        elif tag in _BLOCK_TAGS:
            self.newline(soft=True)
            if tag == "pre" and not attributes.endswith("/"):
                self.pre_depth += 1
        elif tag in _CELL_TAGS:
            self.line.append(" ")
        elif tag == "span" and not attributes.endswith("/"):
            found = _ENTITY_ID.search(attributes)
            entity_id = None if found is None else unescape(found.group(found.lastindex or 1))
            self.open_spans.append((entity_id, len(self.lines), len(self.line)))

    def end(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            if tag == "pre" and self.pre_depth:
                self.pre_depth -= 1
            self.newline(soft=True)
        elif tag == "span" and self.open_spans:
            entity_id, line_no, offset = self.open_spans.pop()
            if entity_id is not None and line_no == len(self.lines):
                self.entity_texts[entity_id] = _collapse("".join(self.line[offset:]))

    def finish(self) -> str:
        self.newline(soft=True)
        lines = [_clean_line(line) for line in self.lines]
        return "\n".join(_squeeze_blank_lines(lines)).strip("\n")


def render_presentation(presentation_ml: str) -> tuple[str, dict[str, str]]:
    """The plain text of `presentation_ml` and the rendered text of each entity span
    (`data-entity-id` → e.g. "@Jane Doe"). Never raises."""
    lines = _Lines()
    for token in _TOKENS.finditer(presentation_ml):
        kind = token.lastgroup  # the token's last group: its kind (None: a comment, ...)
        if kind == "text":
            lines.text(token[0])
        elif kind == "attributes":
            if token["close"]:
                lines.end(token["tag"].lower())
            else:
                lines.start(token["tag"].lower(), token["attributes"])
        elif kind == "lone":
            lines.text("<")
    return lines.finish(), lines.entity_texts


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _clean_line(line: str) -> str:
    if "\x00" not in line:
        return _collapse(line)
    return line.replace("\x00", "").replace("\x01", "\n").rstrip()


def _squeeze_blank_lines(lines: list[str]) -> list[str]:
    """At most one blank line in a row."""
    if "" not in lines:
        return lines
    squeezed: list[str] = []
    for line in lines:
        if line or (squeezed and squeezed[-1]):
            squeezed.append(line)
    return squeezed


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

    Tags are stripped and character references resolved; mentions read as their rendered
    "@Name"; `<br/>` and block elements (div, p, li, tr, h1…) end lines; runs of spaces and
    source newlines collapse to one space; `<pre>` keeps its layout; script and style
    content is dropped. Never raises, whatever the input.
    """
    return render_presentation(presentation_ml)[0]
