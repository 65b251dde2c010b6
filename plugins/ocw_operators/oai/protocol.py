"""OAI-PMH 2.0 responses parsed as streams into typed results (records, sets, Identify) or typed errors.

Parsing is incremental (lxml iterparse through :func:`ocw_operators.safe_xml.safe_iterparse`), and every finished record
is released at once, so memory per page stays flat whatever the page holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from lxml import etree

from ocw_operators.oai.records import (
    Granularity,
    OaiRecord,
    OaiRecordError,
    handle_from_identifier,
    parse_datestamp,
)
from ocw_operators.safe_xml import release, safe_iterparse, text_of

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"

_ROOT = f"{{{OAI_NS}}}OAI-PMH"
_ERROR = f"{{{OAI_NS}}}error"
_RECORD = f"{{{OAI_NS}}}record"
_HEADER = f"{{{OAI_NS}}}header"
_TOKEN = f"{{{OAI_NS}}}resumptionToken"
_SET = f"{{{OAI_NS}}}set"
_IDENTIFY = f"{{{OAI_NS}}}Identify"
_LIST_IDENTIFIERS = f"{{{OAI_NS}}}ListIdentifiers"
_IDENTIFIER = f"{{{OAI_NS}}}identifier"
_DATESTAMP = f"{{{OAI_NS}}}datestamp"
_SET_SPEC = f"{{{OAI_NS}}}setSpec"
_DC_PATH = f"{{{OAI_NS}}}metadata/{{{OAI_DC_NS}}}dc"
_DC_TITLE = f"{{{DC_NS}}}title"
_DC_IDENTIFIER = f"{{{DC_NS}}}identifier"


# --- errors ----------------------------------------------------------------------------------------------


class OaiError(Exception):
    """An ``<error code="...">`` answer from the repository."""

    code = "oaiError"

    def __init__(self, message: str = "", code: str | None = None) -> None:
        self.code = code or self.code
        self.message = message
        super().__init__(f"OAI-PMH error {self.code}: {message}" if message else f"OAI-PMH error {self.code}")


class BadArgument(OaiError):
    code = "badArgument"


class BadVerb(OaiError):
    code = "badVerb"


class BadResumptionToken(OaiError):
    code = "badResumptionToken"


class CannotDisseminateFormat(OaiError):
    code = "cannotDisseminateFormat"


class IdDoesNotExist(OaiError):
    code = "idDoesNotExist"


class NoMetadataFormats(OaiError):
    code = "noMetadataFormats"


class NoRecordsMatch(OaiError):
    code = "noRecordsMatch"


class NoSetHierarchy(OaiError):
    code = "noSetHierarchy"


OAI_ERRORS: dict[str, type[OaiError]] = {
    cls.code: cls
    for cls in (
        BadArgument,
        BadVerb,
        BadResumptionToken,
        CannotDisseminateFormat,
        IdDoesNotExist,
        NoMetadataFormats,
        NoRecordsMatch,
        NoSetHierarchy,
    )
}


class OaiProtocolError(ValueError):
    """The response is XML but not a valid OAI-PMH answer to the request."""


def oai_error(code: str, message: str) -> OaiError:
    return OAI_ERRORS.get(code, OaiError)(message, code=code)


# --- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    """What Identify says; ``granularity`` and ``deleted_record`` steer the harvest."""

    repository_name: str
    base_url: str
    protocol_version: str
    earliest_datestamp: dt.datetime | None
    deleted_record: str  # "no" | "transient" | "persistent"
    granularity: Granularity
    admin_emails: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OaiSet:
    spec: str
    name: str


@dataclass(slots=True)
class ListPage:
    """One page of a list verb. ``resumption_token`` is None on the last page (empty or absent token)."""

    records: list[OaiRecord] = field(default_factory=list)
    sets: list[OaiSet] = field(default_factory=list)
    resumption_token: str | None = None
    complete_list_size: int | None = None
    cursor: int | None = None
    # Records that were well-formed XML but broke DSpace's rules: (identifier as sent, reason).
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_last(self) -> bool:
        return self.resumption_token is None


# --- parsers ---------------------------------------------------------------------------------------------


def parse_list_response(source: IO[bytes], *, verb: str) -> ListPage:
    """Parse a ListRecords / ListIdentifiers / ListSets response; raise :class:`OaiError` for ``<error>``."""
    page = ListPage()
    for element in _finished_elements(source, f"OAI-PMH {verb} response"):
        tag = element.tag
        if tag == _RECORD:
            _add_record(page, element.find(_HEADER), element)
            release(element)
        elif tag == _HEADER and element.getparent().tag == _LIST_IDENTIFIERS:
            _add_record(page, element, None)
            release(element)
        elif tag == _SET:
            page.sets.append(_parse_set(element))
            release(element)
        elif tag == _TOKEN:
            _read_token(page, element)
    return page


def parse_get_record_response(source: IO[bytes]) -> OaiRecord:
    page = parse_list_response(source, verb="GetRecord")
    if page.rejected:
        identifier, reason = page.rejected[0]
        raise OaiRecordError(f"record {identifier!r}: {reason}")
    if len(page.records) != 1:
        raise OaiProtocolError(f"GetRecord returned {len(page.records)} records, expected 1")
    return page.records[0]


def parse_identify_response(source: IO[bytes]) -> RepositoryInfo:
    for element in _finished_elements(source, "OAI-PMH Identify response"):
        if element.tag == _IDENTIFY:
            return _parse_identify(element)
    raise OaiProtocolError("Identify response has no <Identify> element")


# The only elements the parsers act on; lxml filters out every other event before Python sees it.
_INTERESTING = (_RECORD, _HEADER, _SET, _TOKEN, _ERROR, _IDENTIFY)


def _finished_elements(source: IO[bytes], what: str) -> Iterator[etree._Element]:
    """Yield each interesting element as it ends, after checking the root; raise OAI ``<error>`` answers."""

    def check_root(root: etree._Element) -> None:
        if root.tag != _ROOT:
            raise OaiProtocolError(f"{what} has root <{root.tag}>, not <OAI-PMH>")

    events = safe_iterparse(source, events=("end",), tag=_INTERESTING, name=what, check_root=check_root)
    for _event, element in events:
        if element.tag == _ERROR:
            raise oai_error(element.get("code", "oaiError"), text_of(element))
        yield element


def _add_record(page: ListPage, header: etree._Element | None, record: etree._Element | None) -> None:
    if header is None:
        raise OaiProtocolError("record without a <header>")
    identifier = (header.findtext(_IDENTIFIER) or "").strip()
    try:
        page.records.append(_parse_record(identifier, header, record))
    except OaiRecordError as error:
        page.rejected.append((identifier[:300], str(error)))


def _parse_record(identifier: str, header: etree._Element, record: etree._Element | None) -> OaiRecord:
    handle = handle_from_identifier(identifier)
    datestamp_text = (header.findtext(_DATESTAMP) or "").strip()
    if not datestamp_text:
        raise OaiRecordError("header has no datestamp")
    deleted = header.get("status") == "deleted"
    title = identifier_uri = None
    if record is not None and not deleted:
        dc = record.find(_DC_PATH)
        if dc is not None:
            title = (dc.findtext(_DC_TITLE) or "").strip() or None
            identifier_uri = pick_identifier_uri([(e.text or "").strip() for e in dc.iterfind(_DC_IDENTIFIER)], handle)
    return OaiRecord(
        oai_identifier=identifier,
        handle=handle,
        datestamp=parse_datestamp(datestamp_text),
        set_specs=tuple((spec.text or "").strip() for spec in header.iterfind(_SET_SPEC)),
        deleted=deleted,
        identifier_uri=identifier_uri,
        title=title,
    )


def pick_identifier_uri(identifiers: list[str], handle: str) -> str | None:
    """The item's own dc.identifier.uri among oai_dc's ``dc:identifier`` values.

    DSpace adds the handle URL (``https://hdl.handle.net/<handle>``) to dc.identifier.uri when it archives an
    item, and oai_dc flattens every dc.identifier.* into ``dc:identifier``; the deposit's own URI (the course
    URL) is the first http(s) URL that is not the item's handle URL. Falls back to the handle URL.
    """
    urls = [value for value in identifiers if value.lower().startswith(("http://", "https://"))]
    for url in urls:
        if not url.rstrip("/").endswith("/" + handle):
            return url
    return urls[0] if urls else None


def _parse_set(element: etree._Element) -> OaiSet:
    spec = text_of(element.find(f"{{{OAI_NS}}}setSpec"))
    if not spec:
        raise OaiProtocolError("ListSets <set> without a setSpec")
    return OaiSet(spec=spec, name=text_of(element.find(f"{{{OAI_NS}}}setName")) or spec)


def _read_token(page: ListPage, element: etree._Element) -> None:
    page.resumption_token = text_of(element) or None  # empty token: this is the last page
    page.complete_list_size = _int_attribute(element, "completeListSize")
    page.cursor = _int_attribute(element, "cursor")


def _int_attribute(element: etree._Element, name: str) -> int | None:
    value = element.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as error:
        raise OaiProtocolError(f"resumptionToken {name}={value!r} is not an integer") from error


def _parse_identify(element: etree._Element) -> RepositoryInfo:
    def child(name: str) -> str | None:
        return text_of(element.find(f"{{{OAI_NS}}}{name}")) or None

    granularity_text = child("granularity") or ""
    try:
        granularity = Granularity(granularity_text)
    except ValueError as error:
        raise OaiProtocolError(f"Identify granularity {granularity_text!r} is not an OAI-PMH granularity") from error
    earliest = child("earliestDatestamp")
    return RepositoryInfo(
        repository_name=child("repositoryName") or "",
        base_url=child("baseURL") or "",
        protocol_version=child("protocolVersion") or "",
        earliest_datestamp=parse_datestamp(earliest) if earliest else None,
        deleted_record=child("deletedRecord") or "no",
        granularity=granularity,
        admin_emails=tuple(text_of(e) for e in element.iterfind(f"{{{OAI_NS}}}adminEmail")),
    )
