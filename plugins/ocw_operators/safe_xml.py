"""Hardened XML parsing for every document that comes from outside (SWORD receipts, CMS metadata, OAI-PMH).

External XML is untrusted, so the parsers here never expand entities (billion laughs), never load a DTD or an
external entity (XXE, SSRF through ``SYSTEM`` URLs), never touch the network and keep libxml2's size limits
(``huge_tree`` off). Documents that carry a DOCTYPE are refused by default: none of the formats read by this
package needs one, and refusing is clearer than silently leaving entity references unexpanded.

Two ways in: :func:`parse_xml` for small documents held as bytes (receipts, metadata files) and
:func:`safe_iterparse` for streams (OAI-PMH pages), whose consumers free finished elements with
:func:`release` so memory stays flat however long the document is.

No Airflow imports: the OAI harvester and the retirement packager both use these helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO

from lxml import etree

# Large enough for any receipt, metadata file or OAI page; smaller than anything that could exhaust a worker.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

# The protections every parser here shares (lxml's XMLParser and iterparse take the same keywords).
_HARDENED: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
}


class XmlError(ValueError):
    """An external XML document could not be accepted; the message names the document and the reason."""


class MalformedXmlError(XmlError):
    """The document is not well-formed XML (truncated, wrong encoding, garbage, empty)."""


class UnsafeXmlError(XmlError):
    """The document declares a DTD or entities, or is larger than allowed."""


def safe_parser(**overrides: object) -> etree.XMLParser:
    """An lxml parser that resolves no entities, loads no DTD, uses no network and keeps size limits."""
    options: dict[str, object] = dict(_HARDENED)
    options.update(overrides)
    return etree.XMLParser(**options)


def refuse_doctype(element: etree._Element, source: str) -> None:
    """Raise :class:`UnsafeXmlError` when the document ``element`` belongs to declares any DTD."""
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError(f"{source} declares a DOCTYPE (entities or DTDs are refused): {docinfo.doctype!r}")


def parse_xml(
    data: bytes, *, source: str = "XML document", allow_doctype: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._Element:
    """Parse ``data`` (bytes, so the XML declaration's encoding is honoured) and return the root element.

    :raises MalformedXmlError: not well-formed.
    :raises UnsafeXmlError: a DOCTYPE is present (unless ``allow_doctype``) or ``data`` exceeds ``max_bytes``.
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse_xml takes bytes; decode nothing before the parser sees the XML declaration")
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"{source} is {len(data)} bytes, above the {max_bytes}-byte limit")
    try:
        root = etree.fromstring(bytes(data), parser=safe_parser())
    except etree.XMLSyntaxError as error:
        raise MalformedXmlError(f"{source} is not well-formed XML: {error}") from None
    if root is None:
        raise MalformedXmlError(f"{source} is empty")
    if not allow_doctype:
        refuse_doctype(root, source)
    return root


def safe_iterparse(
    source: IO[bytes] | str,
    *,
    events: tuple[str, ...] = ("end",),
    tag: str | Sequence[str] | None = None,
    name: str = "XML stream",
    allow_doctype: bool = False,
    check_root: Callable[[etree._Element], None] | None = None,
) -> Iterator[tuple[str, etree._Element]]:
    """Stream ``(event, element)`` pairs like ``lxml.etree.iterparse``, with the protections of :func:`safe_parser`.

    ``tag`` restricts the events to those elements (filtered inside lxml, much faster than in Python). The
    DOCTYPE check, and ``check_root`` with the root element, run before the first element is handed out, or
    at the end for a document that produced no events. Comments and processing instructions are dropped.
    Callers :func:`release` what they have consumed to keep memory flat on long documents; ``name`` names
    the document in error messages.

    :raises MalformedXmlError: not well-formed, or empty.
    :raises UnsafeXmlError: a DOCTYPE is present (unless ``allow_doctype``).
    """
    context = etree.iterparse(source, events=events, tag=tag, remove_comments=True, remove_pis=True, **_HARDENED)

    def check(root: etree._Element) -> None:
        if not allow_doctype:
            refuse_doctype(root, name)
        if check_root is not None:
            check_root(root)

    checked = False
    try:
        for event, element in context:
            if not checked:
                check(element.getroottree().getroot())
                checked = True
            yield event, element
    except etree.XMLSyntaxError as error:
        raise MalformedXmlError(f"{name} is not well-formed XML: {error}") from None
    if context.root is None:
        raise MalformedXmlError(f"{name} is empty")
    if not checked:
        check(context.root)


def release(element: etree._Element) -> None:
    """Free a finished element and the already-processed siblings before it, keeping memory flat."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def text_of(element: etree._Element | None) -> str:
    """The element's whole text content (child elements included), stripped; '' for a missing element."""
    if element is None:
        return ""
    return "".join(element.itertext()).strip()  # the element's own tail is not part of it
