"""``link_to_external_resource`` over one markdown text (a body or a front matter field): links -> shortcodes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocw_operators.external_resources.markdown_links import (
    LinkKind,
    MarkdownLink,
    scan_markdown,
    scan_markdown_fragment,
)
from ocw_operators.external_resources.resource_fields import (
    InvalidExternalUrl,
    UnsafeShortcodeTitle,
    is_external_destination,
    resource_link_shortcode,
    resource_title,
    shortcode_title,
    validate_external_url,
)

# resolve(url, title, row values) -> (resource, its report row), or the reason the URL must be left alone.
Resolver = Callable[[str, str, dict[str, Any]], "tuple[Any, Any] | str"]


def link_urls(text: str) -> list[str]:
    """The external (http/https) link destinations in ``text``, images left out."""
    if not text or ":" not in text:
        return []
    return [
        link.destination.strip()
        for link in scan_markdown(text).links
        if not link.is_image and is_external_destination(link.destination)
    ]


def convert_links(
    text: str, first_line: int | None, context: dict[str, Any], resolve: Resolver, row: Callable[..., Any]
) -> tuple[str, int]:
    """``text`` with its external links replaced by ``resource_link`` shortcodes, and how many were replaced.

    ``first_line`` is the file line of the text's first line (None for a front matter field: no line is reported).
    Each link considered gets a report row (``row(**values)``); reference definitions whose every use became a
    shortcode are dropped, so the text keeps no stray URL.
    """
    if ":" not in text:  # no URL scheme, no external link
        return text, 0
    scan = scan_markdown(text)
    replacements: list[tuple[int, int, str]] = []
    converted_labels: set[str] = set()
    kept_labels: set[str] = set()
    for link in scan.links:
        shortcode = _convert_link(text, link, first_line=first_line, context=context, resolve=resolve, row=row)
        if shortcode is None:
            if link.kind is LinkKind.REFERENCE:
                kept_labels.add(link.label)
            continue
        replacements.append((link.start, link.end, shortcode))
        if link.kind is LinkKind.REFERENCE:
            converted_labels.add(link.label)
    for label in sorted(converted_labels - kept_labels):
        definition = scan.definitions[label]
        replacements.append((definition.start, definition.end, ""))
    converted = sum(1 for _, _, new in replacements if new)
    return (_apply_replacements(text, replacements), converted) if replacements else (text, 0)


def _convert_link(
    text: str,
    link: MarkdownLink,
    *,
    first_line: int | None,
    context: dict[str, Any],
    resolve: Resolver,
    row: Callable[..., Any],
) -> str | None:
    if link.is_image or not is_external_destination(link.destination):
        return None  # images and internal links are not this rule's business
    row_values = {
        **context,
        "line": None if first_line is None else first_line + link.line - 1,
        "original": text[link.start : link.end],
    }
    try:
        url = validate_external_url(link.destination)
        # A link-wrapped image keeps its image inside the shortcode's title, as ocw-studio converts it: the {{% %}}
        # shortcode's output is rendered as markdown, so the page still shows the image inside the link.
        title_argument = shortcode_title(link.text)
    except (InvalidExternalUrl, UnsafeShortcodeTitle) as problem:
        row(url=link.destination, note=f"left alone: {problem}", **row_values)
        return None
    resolved = resolve(url, resource_title(_text_without_images(link), url), row_values)
    if isinstance(resolved, str):
        row(url=url, note=f"left alone: {resolved}", **row_values)
        return None
    entry, report_row = resolved
    report_row.replacement = resource_link_shortcode(entry.uuid, title_argument)
    return report_row.replacement


def _text_without_images(link: MarkdownLink) -> str:
    """The link text a resource is named by: its images left out, or their alt texts when there is nothing else."""
    if not link.wraps_image:
        return link.text
    images = [inner for inner in scan_markdown_fragment(link.text, {}) if inner.is_image]
    rest = _apply_replacements(link.text, [(image.start, image.end, "") for image in images])
    return rest if rest.strip() else " ".join(image.text for image in images)


def _apply_replacements(text: str, replacements: list[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end, new in sorted(replacements):
        if start < cursor:
            raise ValueError("overlapping replacements")  # the scanner never yields overlapping spans
        pieces.append(text[cursor:start])
        pieces.append(new)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
