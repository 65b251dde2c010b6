"""Hardened XML parsing for every document that comes from outside (SWORD receipts, CMS metadata, OAI-PMH).

External XML is untrusted, so the parsers here never expand entities (billion laughs), never load a DTD or an
external entity (XXE, SSRF through ``SYSTEM`` URLs), never touch the network and keep libxml2's size limits
(``huge_tree`` off). Documents that carry a DOCTYPE are refused by default: none of the formats read by this
package needs one, and refusing is clearer than silently leaving entity references unexpanded.

No Airflow imports: the OAI harvester and the retirement packager both use these helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from lxml import etree

# Large enough for any receipt, metadata file or OAI page; smaller than anything that could exhaust a worker.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class XmlError(ValueError):
    """An external XML document could not be accepted; the message names the document and the reason."""


class MalformedXmlError(XmlError):
    """The document is not well-formed XML."""


class UnsafeXmlError(XmlError):
    """The document declares a DTD or entities, or is larger than allowed."""


def safe_parser(**overrides: object) -> etree.XMLParser:
    """An lxml parser that resolves no entities, loads no DTD, uses no network and keeps size limits."""
    options: dict[str, object] = {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "huge_tree": False,
    }
    options.update(overrides)
    return etree.XMLParser(**options)


def _refuse_doctype(tree: etree._ElementTree, source: str) -> None:
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
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
        _refuse_doctype(root.getroottree(), source)
    return root


def safe_iterparse(
    source: IO[bytes] | str,
    *,
    events: tuple[str, ...] = ("end",),
    tag: str | tuple[str, ...] | None = None,
    allow_doctype: bool = False,
    name: str = "XML stream",
) -> Iterator[tuple[str, etree._Element]]:
    """Stream ``(event, element)`` pairs with the same protections as :func:`safe_parser`.

    Callers should ``element.clear()`` what they have consumed to keep memory flat on long documents.
    """
    context = etree.iterparse(
        source,
        events=events,
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )
    checked = allow_doctype
    try:
        for event, element in context:
            if not checked:
                _refuse_doctype(element.getroottree(), name)
                checked = True
            yield event, element
    except etree.XMLSyntaxError as error:
        raise MalformedXmlError(f"{name} is not well-formed XML: {error}") from None


def text_of(element: etree._Element | None) -> str:
    """The element's text with surrounding whitespace removed ('' for a missing element)."""
    if element is None or element.text is None:
        return ""
    return element.text.strip()
