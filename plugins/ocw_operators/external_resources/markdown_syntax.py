"""The CommonMark pieces the link scanner stands on: regions where no link can be, escapes, and the inline tail.

Regions are spans of a markdown body that are opaque to links: fenced code blocks, inline code spans, and (found
by the caller with :func:`pattern_regions`) HTML comments and Hugo shortcodes. :func:`parse_inline_tail` reads
the ``(destination "title")`` that follows a link's text. Bounds keep hostile input linear.
"""

from __future__ import annotations

import bisect
import re

ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
MAX_DESTINATION_CHARS = 4096
MAX_TITLE_CHARS = 2000
# cmark's limit on nested parentheses in a destination; it also bounds the scan of hostile "[a](" runs.
MAX_PAREN_DEPTH = 32

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
BLANK_LINE = re.compile(r"\n[ \t]*(?:\n|$)")
_BACKTICK_RUN = re.compile(r"`+")


class Regions:
    """Sorted, non-overlapping ``(start, end)`` spans with O(log n) lookup."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        self.spans = merged
        self._starts = [start for start, _ in merged]

    def containing(self, index: int) -> tuple[int, int] | None:
        position = bisect.bisect_right(self._starts, index) - 1
        if position >= 0 and index < self.spans[position][1]:
            return self.spans[position]
        return None

    def next_start_after(self, index: int) -> int | None:
        position = bisect.bisect_right(self._starts, index)
        return self._starts[position] if position < len(self._starts) else None


def fenced_code_regions(body: str) -> list[tuple[int, int]]:
    regions: list[tuple[int, int]] = []
    offset = 0
    fence_char, fence_len, fence_start = "", 0, -1
    for line in body.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if fence_start < 0:
            match = _FENCE_OPEN.match(stripped)
            # A backtick fence's info string may not contain backticks (that would be an inline code span).
            if match and not (match["fence"][0] == "`" and "`" in match["info"]):
                fence_char, fence_len, fence_start = match["fence"][0], len(match["fence"]), offset
        else:
            candidate = stripped.strip()
            if candidate and set(candidate) == {fence_char} and len(candidate) >= fence_len:
                regions.append((fence_start, offset + len(line)))
                fence_start = -1
        offset += len(line)
    if fence_start >= 0:  # an unclosed fence runs to the end of the document
        regions.append((fence_start, len(body)))
    return regions


def pattern_regions(pattern: re.Pattern[str], body: str, blocked: Regions) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(body) if not blocked.containing(match.start())]


def is_escaped(body: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and body[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def code_span_regions(body: str, opaque: Regions) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    while (match := _BACKTICK_RUN.search(body, position)) is not None:
        start, end = match.span()
        region = opaque.containing(start)
        if region:
            position = region[1]
            continue
        if is_escaped(body, start):  # "\`" is a literal backtick; the run proper starts after it
            start += 1
            if start == end:
                position = end
                continue
        closer = _find_code_span_closer(body, end, end - start, opaque)
        if closer is None:
            position = end
            continue
        spans.append((start, closer))
        position = closer
    return spans


def _find_code_span_closer(body: str, search_from: int, run_length: int, opaque: Regions) -> int | None:
    paragraph_end = BLANK_LINE.search(body, search_from)
    limit = paragraph_end.start() if paragraph_end else len(body)
    next_opaque = opaque.next_start_after(search_from)
    if next_opaque is not None:
        limit = min(limit, next_opaque)
    for match in _BACKTICK_RUN.finditer(body, search_from, limit):
        if match.end() - match.start() == run_length:
            return match.end()
    return None


def _skip_spaces(body: str, index: int, *, allow_newline: bool = True) -> int:
    seen_newline = False
    while index < len(body) and body[index] in " \t\n":
        if body[index] == "\n":
            if seen_newline or not allow_newline:
                break
            seen_newline = True
        index += 1
    return index


_TITLE_CLOSERS = {'"': '"', "'": "'", "(": ")"}


def parse_inline_tail(body: str, open_paren: int) -> tuple[str, int] | None:
    """Parse ``(destination "title")`` starting at ``(``; return the raw destination and the end index."""
    parsed = _parse_destination(body, _skip_spaces(body, open_paren + 1))
    if parsed is None:
        return None
    destination, index = parsed
    before_title = index
    index = _skip_spaces(body, index)
    if index < len(body) and body[index] in _TITLE_CLOSERS and index > before_title:
        title_end = _parse_title(body, index)
        if title_end is None:
            return None
        index = _skip_spaces(body, title_end)
    if index >= len(body) or body[index] != ")":
        return None
    return destination, index + 1


def _parse_destination(body: str, index: int) -> tuple[str, int] | None:
    if body.startswith("<", index):
        close = index + 1
        limit = min(len(body), close + MAX_DESTINATION_CHARS)
        while close < limit and body[close] not in ">\n<":
            close += 2 if body[close] == "\\" else 1
        if close >= limit or body[close] != ">":
            return None
        return body[index + 1 : close], close + 1
    start, depth = index, 0
    limit = min(len(body), index + MAX_DESTINATION_CHARS)
    while index < limit:
        char = body[index]
        if char == "\\" and index + 1 < len(body) and body[index + 1] in ASCII_PUNCTUATION:
            index += 2
            continue
        if char in " \t\n" or ord(char) < 0x20:
            break
        if char == "(":
            depth += 1
            if depth > MAX_PAREN_DEPTH:
                return None
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        index += 1
    if depth or index == limit < len(body):
        return None  # unbalanced parentheses or absurdly long: not a link destination
    return body[start:index], index


def _parse_title(body: str, index: int) -> int | None:
    """End index (after the closing quote) of the link title starting at ``index``."""
    closer = _TITLE_CLOSERS[body[index]]
    index += 1
    limit = min(len(body), index + MAX_TITLE_CHARS)
    while index < limit and body[index] != closer:
        if body[index] == "\n" and BLANK_LINE.match(body, index):
            return None
        index += 2 if body[index] == "\\" else 1
    return index + 1 if index < limit else None
