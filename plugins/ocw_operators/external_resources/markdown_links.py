"""Find the links in a markdown body the way a CommonMark renderer (Hugo's Goldmark) would see them.

Only what the external-resource conversion needs: inline links ``[text](url "title")`` (titles with nested
or escaped brackets, destinations with balanced parentheses, ``<...>`` destinations), reference links
(``[text][label]``, ``[text][]``, ``[label]``) with their ``[label]: url`` definitions, and autolinks
``<https://...>``. Images are reported as images so callers leave them alone. Nothing inside fenced code
blocks, inline code spans, HTML comments or Hugo shortcode delimiters (``{{< >}}``, ``{{% %}}``) is a link.

Known limits (a link there is left alone, never mangled): indented (4-space) code blocks are not detected,
so a link-shaped line inside one would be found; reference definitions must fit on one line.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field
from enum import StrEnum

from ocw_operators.external_resources.markdown_syntax import (
    BLANK_LINE,
    Regions,
    code_span_regions,
    fenced_code_regions,
    is_escaped,
    parse_inline_tail,
    pattern_regions,
)

# Bounds keep a hostile document (thousands of unclosed brackets) linear instead of quadratic.
MAX_LINK_TEXT_CHARS = 4000
MAX_LABEL_CHARS = 999

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SHORTCODE = re.compile(r"\{\{<.*?>\}\}|\{\{%.*?%\}\}", re.DOTALL)
_AUTOLINK = re.compile(r"<(?P<uri>[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>\x00-\x1f]{0,4096})>")
_DEFINITION = re.compile(
    r"^ {0,3}\[(?P<label>(?:[^\[\]\\\n]|\\.){1,999})\]:[ \t]*"
    r"(?P<dest><(?:[^<>\\\n]|\\.)*>|[^\s<][^\s]*)"
    r"(?:[ \t]+(?P<title>\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|\((?:[^()\\\n]|\\.)*\)))?[ \t]*$",
    re.MULTILINE,
)
_LINK_START = re.compile(r"[\[!<]")
_BRACKET_EVENT = re.compile(r"[\[\]\\`\n]")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


class LinkKind(StrEnum):
    INLINE = "inline"
    REFERENCE = "reference"
    AUTOLINK = "autolink"


@dataclass(frozen=True)
class MarkdownLink:
    """One link or image as written in the body; ``start:end`` is the exact source span."""

    start: int
    end: int
    line: int
    kind: LinkKind
    text: str  # link text as written (markdown escapes kept); the URI itself for autolinks
    destination: str  # decoded: backslash escapes and entity references resolved
    label: str = ""  # normalized reference label (reference links only)
    is_image: bool = False
    wraps_image: bool = False  # the link text is (or contains) an image: [![alt](src) text](url)


@dataclass(frozen=True)
class ReferenceDefinition:
    label: str  # normalized
    destination: str
    start: int  # span of the whole definition line, including its newline
    end: int
    line: int


@dataclass
class ScanResult:
    links: list[MarkdownLink] = field(default_factory=list)
    definitions: dict[str, ReferenceDefinition] = field(default_factory=dict)


def normalize_label(label: str) -> str:
    """CommonMark label matching: case-insensitive, inner whitespace collapsed."""
    return " ".join(label.split()).casefold()


def unescape_destination(raw: str) -> str:
    """Resolve backslash escapes of ASCII punctuation and *terminated* entity references.

    Only ``&name;`` forms are decoded: ``html.unescape`` would also turn ``?a=1&copy=2`` into ``©=2``.
    """
    unescaped = _BACKSLASH_ESCAPE.sub(r"\1", raw) if "\\" in raw else raw
    return _ENTITY.sub(lambda match: html.unescape(match.group(0)), unescaped) if "&" in unescaped else unescaped


def scan_markdown(body: str) -> ScanResult:
    """Every link, image and reference definition in ``body`` outside code, comments and shortcodes."""
    fenced = fenced_code_regions(body)
    definitions, definition_regions = _reference_definitions(body, fenced)
    blocks = Regions(fenced + definition_regions)
    opaque = Regions(
        fenced
        + definition_regions
        + pattern_regions(_HTML_COMMENT, body, blocks)
        + pattern_regions(_SHORTCODE, body, blocks)
    )
    code_spans = Regions(code_span_regions(body, opaque))
    scanner = _LinkScanner(body, definitions, blocks=blocks, opaque=opaque, code_spans=code_spans)
    return ScanResult(links=scanner.scan(), definitions=definitions)


def _reference_definitions(
    body: str, fenced: list[tuple[int, int]]
) -> tuple[dict[str, ReferenceDefinition], list[tuple[int, int]]]:
    blocked = Regions(fenced)
    definitions: dict[str, ReferenceDefinition] = {}
    regions: list[tuple[int, int]] = []
    for match in _DEFINITION.finditer(body):
        if blocked.containing(match.start()) or match["label"].startswith("^"):  # footnotes are not links
            continue
        end = match.end() + 1 if body.startswith("\n", match.end()) else match.end()
        regions.append((match.start(), end))
        label = normalize_label(match["label"])
        destination = match["dest"]
        if destination.startswith("<"):
            destination = destination[1:-1]
        # CommonMark: the first definition of a label wins.
        definitions.setdefault(
            label,
            ReferenceDefinition(
                label=label,
                destination=unescape_destination(destination),
                start=match.start(),
                end=end,
                line=body.count("\n", 0, match.start()) + 1,
            ),
        )
    return definitions, regions


# --- links -------------------------------------------------------------------------------------------------


class _LinkScanner:
    def __init__(
        self,
        body: str,
        definitions: dict[str, ReferenceDefinition],
        *,
        blocks: Regions,
        opaque: Regions,
        code_spans: Regions,
        look_inside_text: bool = True,
    ) -> None:
        self.body = body
        # Link texts are scanned one level deep only, so nested brackets cannot recurse without bound.
        self.look_inside_text = look_inside_text
        self.definitions = definitions
        self.blocks = blocks
        self.opaque = opaque
        self.code_spans = code_spans
        self._newlines = [match.start() for match in re.finditer("\n", body)]
        self._closing_brackets = self._match_brackets()

    def line_of(self, index: int) -> int:
        return bisect.bisect_left(self._newlines, index) + 1

    def scan(self) -> list[MarkdownLink]:
        links: list[MarkdownLink] = []
        body = self.body
        position = 0
        while (candidate := _LINK_START.search(body, position)) is not None:
            position = candidate.start()
            region = self.opaque.containing(position) or self.code_spans.containing(position)
            if region:
                position = region[1]
                continue
            char = body[position]
            link: MarkdownLink | None = None
            if is_escaped(body, position):
                link = None
            elif char == "<":
                link = self._autolink_at(position)
            elif char == "!":
                if body.startswith("[", position + 1):
                    link = self._bracketed_at(position + 1, image_start=position)
            else:
                link = self._bracketed_at(position, image_start=None)
            if link is None:
                position += 1
                continue
            links.append(link)
            position = link.end
        return links

    def _autolink_at(self, start: int) -> MarkdownLink | None:
        match = _AUTOLINK.match(self.body, start)
        if not match:
            return None
        uri = match["uri"]
        return MarkdownLink(
            start=start,
            end=match.end(),
            line=self.line_of(start),
            kind=LinkKind.AUTOLINK,
            text=uri,
            destination=uri,
        )

    def _bracketed_at(self, open_index: int, *, image_start: int | None) -> MarkdownLink | None:
        close_index = self._find_text_end(open_index)
        if close_index is None:
            return None
        text = self.body[open_index + 1 : close_index]
        is_image = image_start is not None
        inner = scan_markdown_fragment(text, self.definitions) if self.look_inside_text else []
        if not is_image and any(not link.is_image for link in inner):
            return None  # links cannot contain links: the inner one is the link (CommonMark)
        start = open_index if image_start is None else image_start
        fields = {
            "start": start,
            "line": self.line_of(start),
            "text": text,
            "is_image": is_image,
            "wraps_image": any(link.is_image for link in inner),
        }
        after = close_index + 1
        if self.body.startswith("(", after):
            tail = parse_inline_tail(self.body, after)
            if tail is None:
                return None
            return MarkdownLink(end=tail[1], kind=LinkKind.INLINE, destination=unescape_destination(tail[0]), **fields)
        return self._reference_link(text, after, fields)

    def _reference_link(self, text: str, after: int, fields: dict) -> MarkdownLink | None:
        label_text, end = text, after
        if self.body.startswith("[", after):
            label_end = self._find_label_end(after)
            if label_end is None:
                return None
            if label_end > after + 1:  # full reference [text][label]; [text][] is collapsed: label = text
                label_text = self.body[after + 1 : label_end]
            end = label_end + 1
        definition = None if label_text.startswith("^") else self.definitions.get(normalize_label(label_text))
        if definition is None:  # footnote references and undefined labels are plain text
            return None
        return MarkdownLink(
            end=end,
            kind=LinkKind.REFERENCE,
            destination=definition.destination,
            label=definition.label,
            **fields,
        )

    def _find_text_end(self, open_index: int) -> int | None:
        close_index = self._closing_brackets.get(open_index)
        if close_index is None or close_index - open_index > MAX_LINK_TEXT_CHARS:
            return None
        return close_index

    def _match_brackets(self) -> dict[int, int]:
        """Pair every ``[`` with its ``]`` in one pass (a per-bracket search would be quadratic on hostile input).

        Brackets inside code spans and escaped brackets do not count; pairs never cross a paragraph break,
        a fenced code block or a reference definition.
        """
        body = self.body
        pairs: dict[int, int] = {}
        open_brackets: list[int] = []
        first_block = self.blocks.containing(0)
        position = first_block[1] if first_block else 0
        while (event := _BRACKET_EVENT.search(body, position)) is not None:
            index = event.start()
            char = body[index]
            position = index + 1
            if char == "`" and (span := self.code_spans.containing(index)):
                position = span[1]
            elif char == "\\":
                position = index + 2
            elif char == "\n":
                if BLANK_LINE.match(body, index):
                    open_brackets.clear()
                if block := self.blocks.containing(index + 1):
                    open_brackets.clear()
                    position = block[1]
            elif char == "[":
                open_brackets.append(index)
            elif open_brackets:  # "]"
                pairs[open_brackets.pop()] = index
        return pairs

    def _find_label_end(self, open_index: int) -> int | None:
        body = self.body
        index = open_index + 1
        limit = min(len(body), open_index + 1 + MAX_LABEL_CHARS)
        while index < limit:
            char = body[index]
            if char == "\\":
                index += 2
                continue
            if char == "[":
                return None
            if char == "]":
                return index
            index += 1
        return None


def scan_markdown_fragment(text: str, definitions: dict[str, ReferenceDefinition]) -> list[MarkdownLink]:
    """Links inside a link's text (used to detect link-wrapped images and nested links)."""
    if "[" not in text and "<" not in text:
        return []
    empty = Regions([])
    code_spans = Regions(code_span_regions(text, empty))
    scanner = _LinkScanner(text, definitions, blocks=empty, opaque=empty, code_spans=code_spans, look_inside_text=False)
    return scanner.scan()
