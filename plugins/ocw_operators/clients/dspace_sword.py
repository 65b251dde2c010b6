"""SWORD v1 and v2 deposit of a METS SIP into DSpace, and the parsing of what DSpace answers.

SWORD v1 (DSpace ``dspace-sword``): ``POST <base>/sword/deposit/<prefix>/<suffix>`` with ``X-Packaging``,
``X-On-Behalf-Of``, ``X-Verbose``; 201 = archived (``atom:id`` and ``link rel="alternate"`` are the handle URL),
202 = accepted into the workflow (no handle yet). SWORD v2 (``dspace-swordv2``):
``POST <base>/swordv2/collection/<prefix>/<suffix>`` with ``Packaging`` and ``On-Behalf-Of``; ``atom:id`` is
the Edit-IRI and the handle is only in ``link rel="alternate"`` (absent while in workflow); the Edit-IRI can
be fetched later to learn the handle. Errors come back as ``sword:error`` documents naming an error URI.

Content-MD5 is the hex MD5 digest, as DSpace's SWORD servers compute and compare it. The body is streamed
from disk in 1 MiB blocks; nothing here holds the zip in memory.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import requests
from lxml import etree

from ocw_operators.http_support import ResponseTooLarge, body_excerpt, read_bounded, redact_url
from ocw_operators.safe_xml import XmlError, parse_xml, text_of

ATOM_NS = "http://www.w3.org/2005/Atom"
SWORD_V1_NS = "http://purl.org/net/sword/"
SWORD_V2_NS = "http://purl.org/net/sword/terms/"
SWORD_V1_PACKAGING = "http://purl.org/net/sword-types/METSDSpaceSIP"
SWORD_V2_PACKAGING = "http://purl.org/net/sword/package/METSDSpaceSIP"
UPLOAD_CHUNK_BYTES = 1024 * 1024
MAX_RECEIPT_BYTES = 4 * 1024 * 1024
GATEWAY_STATUSES = frozenset({502, 503, 504})
_HANDLE_IN_URL = re.compile(r"(?:hdl\.handle\.net/|/handle/)(\d+(?:\.\d+)*/[^/?#\s]+)")
_HANDLE = re.compile(r"^\d+(?:\.\d+)*/[A-Za-z0-9._-]+$")
_EDIT_IRI_REL = "edit"


class SwordError(RuntimeError):
    """A deposit did not produce a usable result.

    ``definitive`` is True when DSpace refused the deposit (nothing was created, a new attempt is safe) and
    False when the outcome is unknown (timeout, dropped connection, unreadable 2xx receipt, a gateway's 5xx):
    the item may exist. See :func:`deposit_refusal`.
    """

    definitive: bool = True


class SwordDepositError(SwordError):
    """DSpace answered a deposit with an HTTP error, usually a ``sword:error`` document."""

    def __init__(self, status: int, error_uri: str | None, summary: str, *, collection: str) -> None:
        self.status = status
        self.error_uri = error_uri
        self.summary = summary
        named = f", {error_uri}" if error_uri else ""
        super().__init__(f"DSpace rejected the deposit to collection {collection} (HTTP {status}{named}): {summary}")


class SwordOutcomeUnknownError(SwordError):
    """The deposit may or may not have reached DSpace."""

    definitive = False


@dataclass(frozen=True)
class DepositReceipt:
    status_code: int
    handle: str | None
    in_workflow: bool
    atom_id: str
    location: str | None  # v1: media link of the stored package; v2: the Edit-IRI
    edit_iri: str | None
    receipt_xml: str = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def handle_from_url(url: str | None) -> str | None:
    """``1721.1/77167`` from ``http://hdl.handle.net/1721.1/77167`` or ``.../handle/1721.1/77167``."""
    if not url:
        return None
    match = _HANDLE_IN_URL.search(url)
    return match.group(1) if match else None


def validate_handle(handle: str) -> str:
    if not isinstance(handle, str) or not _HANDLE.match(handle):
        raise ValueError(f"not a handle of the form <prefix>/<suffix>: {handle!r}")
    return handle


def hdl_uri(handle: str) -> str:
    """The form OCW's CMS stores: ``hdl://1721.1/77167``."""
    return f"hdl://{validate_handle(handle)}"


def _links(root: etree._Element) -> dict[str, str]:
    links = {}
    for link in root.iter(f"{{{ATOM_NS}}}link"):
        rel, href = link.get("rel"), link.get("href")
        if rel and href and rel not in links:
            links[rel] = href.strip()
    return links


def _sword_error(body: bytes, status: int) -> tuple[str | None, str] | None:
    """``(error URI, summary)`` of a ``sword:error`` document (v1 or v2); None for anything else."""
    try:
        root = parse_xml(body, source=f"DSpace error response (HTTP {status})")
    except XmlError:
        return None
    if etree.QName(root).localname != "error" or etree.QName(root).namespace not in (SWORD_V1_NS, SWORD_V2_NS):
        return None
    summary = text_of(root.find(f"{{{ATOM_NS}}}summary")) or text_of(root.find(f"{{{ATOM_NS}}}title")) or "no summary"
    return root.get("href"), summary


def parse_error_document(body: bytes, status: int, *, collection: str) -> SwordDepositError:
    """A :class:`SwordDepositError` from a ``sword:error`` document (v1 or v2), or from a plain error page."""
    document = _sword_error(body, status)
    if document is not None:
        return SwordDepositError(status, document[0], document[1], collection=collection)
    try:
        root = parse_xml(body, source=f"DSpace error response (HTTP {status})")
    except XmlError:
        return SwordDepositError(status, None, body_excerpt(body, 300) or "no error document", collection=collection)
    unexpected = f"unexpected <{etree.QName(root).localname}> document"
    return SwordDepositError(status, None, unexpected, collection=collection)


def deposit_refusal(status: int, body: bytes | None, *, collection: str, on_behalf_of: str | None = None) -> SwordError:
    """What a non-2xx answer to a deposit means: a definitive refusal, or an unknown outcome.

    Definitive (nothing was created; depositing again is safe): a ``sword:error`` document, which only DSpace
    writes and only when it refused the package, and any 4xx, which refuses the request itself. Unknown (the
    item may exist): every 502/503/504, and any other answer without a ``sword:error`` document. DSpace's SWORD
    servers answer their refusals with 400, 401, 403, 405, 412, 413, 415 or 500, never with 502/503/504: those
    come from a proxy or load balancer that gave up waiting for DSpace or could not reach it, and whatever body
    they carry says nothing about the upload, which DSpace may still be ingesting (the read timeout is 900 s).

    ``body`` is None when the answer was too large or cut off: then the status alone decides.
    """
    document = _sword_error(body, status) if body is not None else None
    if status in GATEWAY_STATUSES or (document is None and not 400 <= status < 500):
        excerpt = body_excerpt(body, 300) if body else ""
        answer = f"HTTP {status}{f' ({excerpt!r})' if excerpt else ''}"
        what = (
            "a proxy's or load balancer's answer, not DSpace's verdict"
            if status in GATEWAY_STATUSES
            else "no SWORD error document, so not DSpace's verdict"
        )
        return SwordOutcomeUnknownError(
            f"the deposit to collection {collection} got {answer}: {what}. DSpace may still be ingesting the "
            "upload, so it is not sent again until the item is found or an operator decides"
        )
    if document is not None and (document[0] or "").endswith("TargetOwnerUnknown"):
        who = f"{on_behalf_of!r}" if on_behalf_of else "the on-behalf-of user"
        return SwordDepositError(
            status,
            document[0],
            f"DSpace does not know {who}, the user the Connection's extra on_behalf_of deposits for "
            f"(the SWORD account's credentials were accepted): {document[1]}",
            collection=collection,
        )
    if status == 401:
        return SwordDepositError(401, None, "DSpace refused the SWORD credentials", collection=collection)
    if document is not None:
        return SwordDepositError(status, document[0], document[1], collection=collection)
    if body is None:
        return SwordDepositError(status, None, "its error page was too large or cut off", collection=collection)
    return parse_error_document(body, status, collection=collection)


def parse_receipt(body: bytes, status: int, *, location: str | None) -> DepositReceipt:
    """Read the Atom entry DSpace answers a successful (201/202) deposit with.

    The handle comes from ``link rel="alternate"`` (v1 and v2) or from ``atom:id`` (v1). A receipt with no
    handle means the item is in DSpace's workflow: accepted, the handle will follow when it is archived.
    """
    root = parse_xml(body, source=f"SWORD deposit receipt (HTTP {status})", max_bytes=MAX_RECEIPT_BYTES)
    if root.tag != f"{{{ATOM_NS}}}entry":
        raise SwordOutcomeUnknownError(
            f"DSpace answered HTTP {status} with <{etree.QName(root).localname}>, not an Atom entry"
        )
    atom_id = text_of(root.find(f"{{{ATOM_NS}}}id"))
    links = _links(root)
    handle = handle_from_url(links.get("alternate")) or handle_from_url(atom_id)
    return DepositReceipt(
        status_code=status,
        handle=handle,
        in_workflow=handle is None,
        atom_id=atom_id,
        location=location,
        edit_iri=links.get(_EDIT_IRI_REL),
        receipt_xml=body.decode("utf-8", "replace"),
    )


# -- client -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwordSettings:
    base_url: str  # "https://dspace.mit.edu"
    version: int = 1
    on_behalf_of: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 900.0  # DSpace unpacks and ingests before it answers a large deposit
    deposit_path: str | None = None  # default "/sword/deposit" (v1) or "/swordv2/collection" (v2)
    verbose: bool = True
    user_agent: str = "ocw-archive-airflow"

    def __post_init__(self) -> None:
        if self.version not in (1, 2):
            raise ValueError(f"SWORD version must be 1 or 2, not {self.version!r}")


class _UploadBody:
    """File body for requests: known length (so Content-Length is sent) and 1 MiB reads (http.client asks 8 KiB)."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size

    def __len__(self) -> int:
        return self._size

    def read(self, _size: int = -1) -> bytes:
        return self._handle.read(UPLOAD_CHUNK_BYTES)


class SwordClient:
    """Deposits into DSpace over SWORD v1 or v2 (``settings.version``).

    :param session: carries the depositing e-person's HTTP Basic credentials (and TLS, proxies, headers).
    """

    def __init__(self, settings: SwordSettings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.settings.connect_timeout, self.settings.read_timeout)

    def deposit_url(self, collection_handle: str) -> str:
        validate_handle(collection_handle)
        default = "/sword/deposit" if self.settings.version == 1 else "/swordv2/collection"
        path = (self.settings.deposit_path or default).rstrip("/")
        return f"{self.settings.base_url.rstrip('/')}{path}/{collection_handle}"

    def deposit_headers(self, *, md5: str, filename: str, size: int) -> dict[str, str]:
        headers = {
            "Content-Type": "application/zip",
            "Content-Length": str(size),
            "Content-MD5": md5,
            "User-Agent": self.settings.user_agent,
        }
        if self.settings.version == 1:
            headers |= {
                "Content-Disposition": f"filename={filename}",
                "X-Packaging": SWORD_V1_PACKAGING,
                "X-Verbose": "true" if self.settings.verbose else "false",
                "X-No-Op": "false",
            }
            if self.settings.on_behalf_of:
                headers["X-On-Behalf-Of"] = self.settings.on_behalf_of
        else:
            headers |= {
                "Content-Disposition": f"attachment; filename={filename}",
                "Packaging": SWORD_V2_PACKAGING,
                "In-Progress": "false",
            }
            if self.settings.on_behalf_of:
                headers["On-Behalf-Of"] = self.settings.on_behalf_of
        return headers

    def deposit(self, zip_path: Path, *, md5: str, collection_handle: str) -> DepositReceipt:
        """POST the zip at ``zip_path`` to the collection; return the receipt or raise :class:`SwordError`."""
        url = self.deposit_url(collection_handle)
        size = zip_path.stat().st_size
        headers = self.deposit_headers(md5=md5, filename=zip_path.name, size=size)
        try:
            with open(zip_path, "rb", buffering=0) as handle:
                response = self.session.post(
                    url, data=_UploadBody(handle, size), headers=headers, timeout=self.timeout, stream=True
                )
        except requests.RequestException as error:
            raise SwordOutcomeUnknownError(
                f"the deposit to {redact_url(url)} did not complete ({error.__class__.__name__}); "
                "DSpace may or may not have created the item"
            ) from None
        with response:
            body, problem = _bounded_body(response)
        return self._interpret(response.status_code, response.headers, body, problem, collection_handle)

    def fetch_receipt(self, edit_iri: str) -> DepositReceipt:
        """GET a SWORD v2 Edit-IRI: the current receipt, with the handle once the item left the workflow."""
        try:
            response = self.session.get(edit_iri, timeout=self.timeout, stream=True)
        except requests.RequestException as error:
            raise SwordOutcomeUnknownError(
                f"could not read the receipt at {redact_url(edit_iri)}: {error.__class__.__name__}"
            ) from None
        with response:
            body, problem = _bounded_body(response)
        if problem is not None:
            raise SwordOutcomeUnknownError(f"the receipt at {redact_url(edit_iri)}: {problem}")
        if response.status_code != 200:
            raise parse_error_document(body, response.status_code, collection=edit_iri)
        return parse_receipt(body, 200, location=edit_iri)

    def service_document(self) -> int:
        """Status code of the service document request (used by the hook's connection test)."""
        path = "/sword/servicedocument" if self.settings.version == 1 else "/swordv2/servicedocument"
        response = self.session.get(self.settings.base_url.rstrip("/") + path, timeout=self.timeout)
        response.close()
        return response.status_code

    def _interpret(
        self, status: int, headers: Any, body: bytes, problem: str | None, collection: str
    ) -> DepositReceipt:
        # The status is judged before the body's size or completeness: a 413 with a huge error page is still a
        # 413, while an unreadable 2xx receipt leaves the outcome unknown.
        if status in (200, 201, 202):
            if problem is not None:
                raise SwordOutcomeUnknownError(f"DSpace accepted the deposit but {problem}")
            try:
                return parse_receipt(body, status, location=headers.get("Location"))
            except XmlError as error:
                raise SwordOutcomeUnknownError(
                    f"DSpace accepted the deposit but its receipt is unreadable: {error}"
                ) from None
        raise deposit_refusal(
            status, None if problem else body, collection=collection, on_behalf_of=self.settings.on_behalf_of
        )


def _bounded_body(response: requests.Response) -> tuple[bytes, str | None]:
    """The body (up to :data:`MAX_RECEIPT_BYTES`), or ``b""`` and why it was not read: too large or cut off."""
    try:
        return read_bounded(response.iter_content(64 * 1024), max_bytes=MAX_RECEIPT_BYTES, what="its answer"), None
    except ResponseTooLarge as error:
        return b"", f"{error}; not read"
    except requests.RequestException as error:
        return b"", f"its answer was cut off ({error.__class__.__name__})"
