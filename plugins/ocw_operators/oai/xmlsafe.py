"""Hardened streaming XML parsing for responses from remote servers.

Remote XML is untrusted: a hostile or broken server can send entity bombs ("billion laughs"), external
entities that read local files or reach the network (XXE), or simply truncated documents. Every parser here
is an lxml ``iterparse`` with entity resolution, DTD loading and network access switched off, and a document
that declares a DOCTYPE at all is refused: the protocols we speak (OAI-PMH, SWORD/Atom) never need one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO

from lxml import etree


class UnsafeXmlError(ValueError):
    """The document declares a DTD or entities; refused before any of its content is used."""


class MalformedXmlError(ValueError):
    """The document is not well-formed XML (truncated, wrong encoding, garbage)."""


def iterparse_safely(
    source: IO[bytes],
    *,
    events: tuple[str, ...] = ("end",),
    tags: Sequence[str] | None = None,
    what: str = "XML document",
    check_root: Callable[[etree._Element], None] | None = None,
) -> Iterator[tuple[str, etree._Element]]:
    """Yield ``(event, element)`` pairs from ``source`` like ``lxml.etree.iterparse``, hardened.

    ``tags`` restricts the events to those elements (filtered inside lxml, which is much faster than
    filtering in Python). The DOCTYPE check, and ``check_root`` with the root element, run before the first
    element is handed out, or at the end for documents that produced no events. The caller owns memory
    discipline: clear elements it has finished with (see :func:`release`). ``what`` names the document in
    error messages.
    """
    context = etree.iterparse(
        source,
        events=events,
        tag=tags,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    checked = False
    try:
        for event, element in context:
            if not checked:
                _check_document(element.getroottree().getroot(), what, check_root)
                checked = True
            yield event, element
    except etree.XMLSyntaxError as error:
        raise MalformedXmlError(f"{what} is not well-formed XML: {error}") from error
    root = context.root
    if root is None:
        raise MalformedXmlError(f"{what} is empty")
    if not checked:
        _check_document(root, what, check_root)


def _check_document(root: etree._Element, what: str, check_root: Callable[[etree._Element], None] | None) -> None:
    refuse_doctype(root, what)
    if check_root is not None:
        check_root(root)


def refuse_doctype(element: etree._Element, what: str) -> None:
    """Raise :class:`UnsafeXmlError` when the document ``element`` belongs to declares any DTD."""
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError(f"{what} declares a DOCTYPE/DTD, which is refused (entity expansion and XXE risk)")


def release(element: etree._Element) -> None:
    """Free a finished element and the already-processed siblings before it, keeping memory flat."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def text_of(element: etree._Element | None) -> str | None:
    """Stripped text content of ``element``, None for a missing or empty element."""
    if element is None:
        return None
    text = "".join(element.itertext(with_tail=False)).strip()
    return text or None
