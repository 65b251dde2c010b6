"""Sandbox DSpace OAI-PMH 2.0 endpoint over the shared :class:`~ocw_sandbox.dspace_store.DSpaceStore`.

It behaves like DSpace's XOAI webapp where the harvester can tell:

* Identify: granularity ``YYYY-MM-DDThh:mm:ssZ``, ``deletedRecord`` transient (expunged items vanish);
* identifiers ``oai:<identifier_prefix>:<handle>``; sets ``col_<handle with _>`` and ``com_<...>``;
* ListIdentifiers / ListRecords (``oai_dc``) / GetRecord / ListSets / ListMetadataFormats, GET and POST;
* ``from``/``until``/``set`` filters; pages of ``page_size`` (DSpace: 100) with stateless resumption tokens
  ``metadataPrefix/from/until/set/offset`` (anything else: ``badResumptionToken``), ``completeListSize`` and
  ``cursor``, and an empty token on the last page; ``noRecordsMatch``; the protocol's argument errors;
* withdrawn items appear as ``<header status="deleted">``; items still in the submission workflow (a 202 SWORD
  deposit) are invisible; expunged items are gone.

Like DSpace, it answers from an *OAI index*, not from the live repository: DSpace only refreshes that index when
``dspace oai import`` runs, which is why a withdrawal shows up late. ``auto_import=True`` (the default)
re-imports before every request, i.e. an always-current index; with ``auto_import=False`` the index changes
only on ``POST /_sandbox/oai/import`` (or :meth:`OaiIndex.import_store`), which is how tests show the delay and
how the benchmark serves 100,000 records without re-sorting them for every page.

Responses are generated and written in chunks, so a page never exists in memory as one document. Faults
(503 with Retry-After, a forced ``badResumptionToken`` body, hangs, resets) target the route named ``oai``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

from ocw_sandbox.dspace_store import DSpaceStore, SandboxItem
from ocw_sandbox.faults import CONTROL_PREFIX, make_app

ROUTE_NAME = "oai"
IMPORT_ROUTE_NAME = "oai_import"
METADATA_PREFIX = "oai_dc"
SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DAY_FORMAT = "%Y-%m-%d"
# Characters XML 1.0 forbids; stripped from served text so a hostile title cannot break the document.
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WRITE_CHUNK = 32 * 1024
_DC_ELEMENTS = {
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type", "format",
    "identifier", "source", "language", "relation", "coverage", "rights",
}  # fmt: skip
_LIST_ARGUMENTS = {"metadataPrefix", "from", "until", "set", "resumptionToken"}
_VERB_ARGUMENTS = {
    "Identify": set(),
    "ListMetadataFormats": {"identifier"},
    "ListSets": {"resumptionToken"},
    "ListIdentifiers": _LIST_ARGUMENTS,
    "ListRecords": _LIST_ARGUMENTS,
    "GetRecord": {"identifier", "metadataPrefix"},
}


class OaiProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def oai_error_body(code: str, message: str = "", *, verb: str | None = None) -> str:
    """A complete OAI-PMH error response, e.g. for ``inject_fault(..., kind="status", status=200, body=...)``."""
    attributes = f" verb={quoteattr(verb)}" if verb else ""
    return "".join(
        [
            _preamble(),
            f"<request{attributes}>http://sandbox/oai/request</request>",
            f"<error code={quoteattr(code)}>{_text(message or code)}</error></OAI-PMH>\n",
        ]
    )


# --- the OAI index ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexedItem:
    handle: str
    datestamp: dt.datetime
    set_specs: tuple[str, ...]
    deleted: bool
    dublin_core: tuple[tuple[str, str], ...]  # (dc element, value), in the order served


class OaiIndex:
    """A snapshot of the store as DSpace's OAI (Solr) index holds it, sorted by (datestamp, handle)."""

    def __init__(
        self,
        store: DSpaceStore,
        *,
        communities: Mapping[str, Iterable[str]] | None = None,
        set_names: Mapping[str, str] | None = None,
        list_withdrawn: bool = True,
    ) -> None:
        self.store = store
        self.list_withdrawn = list_withdrawn
        self.set_names = dict(set_names or {})
        # community handle -> collection handles it contains
        self.communities = {community: tuple(children) for community, children in (communities or {}).items()}
        self.listed: list[IndexedItem] = []
        self.by_set: dict[str, list[IndexedItem]] = {}
        self.by_handle: dict[str, IndexedItem] = {}
        self.imports = 0
        self.import_store()

    def import_store(self) -> int:
        """Rebuild from the store (DSpace's ``oai import``); returns how many items are now indexed."""
        parents: dict[str, list[str]] = {}
        for community, collections in self.communities.items():
            for collection in collections:
                parents.setdefault(collection, []).append(_set_spec("com", community))
        by_handle: dict[str, IndexedItem] = {}
        listed: list[IndexedItem] = []
        by_set: dict[str, list[IndexedItem]] = {spec: [] for spec in self._known_set_specs()}
        for item in self.store.items():  # already sorted by (datestamp, handle)
            if item.in_workflow:
                continue  # no public handle until the workflow finishes
            entry = _index_entry(item, parents.get(item.collection_handle, ()))
            by_handle[entry.handle] = entry
            if entry.deleted and not self.list_withdrawn:
                continue
            listed.append(entry)
            for spec in entry.set_specs:
                by_set.setdefault(spec, []).append(entry)
        self.by_handle, self.listed, self.by_set = by_handle, listed, by_set
        self.imports += 1
        return len(by_handle)

    def _known_set_specs(self) -> list[str]:
        specs = [_set_spec("com", community) for community in self.communities]
        specs += [_set_spec("col", c) for children in self.communities.values() for c in children]
        return specs

    def sets(self) -> list[tuple[str, str]]:
        specs = sorted(set(self.by_set) | {spec for e in self.by_handle.values() for spec in e.set_specs})
        return [(spec, self.set_names.get(spec, _default_set_name(spec))) for spec in specs]

    def select(
        self, set_spec: str | None, start: dt.datetime | None, end: dt.datetime | None
    ) -> tuple[list[IndexedItem], int, int]:
        """The list to page through and the [lo, hi) slice matching the datestamp bounds (inclusive)."""
        items = self.listed if set_spec is None else self.by_set.get(set_spec, [])
        lo = 0 if start is None else bisect.bisect_left(items, start, key=lambda e: e.datestamp)
        hi = len(items) if end is None else bisect.bisect_right(items, end, key=lambda e: e.datestamp)
        return items, lo, max(lo, hi)

    def earliest(self) -> dt.datetime:
        if not self.listed:
            return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return self.listed[0].datestamp


def _index_entry(item: SandboxItem, community_specs: Iterable[str]) -> IndexedItem:
    dublin_core: list[tuple[str, str]] = []
    for field_name, values in item.dublin_core.items():
        element = field_name.split(".", 1)[0]
        if element not in _DC_ELEMENTS:
            continue
        dublin_core.extend((element, str(value)) for value in values)
    # DSpace adds the handle URL to dc.identifier.uri when it installs an item.
    dublin_core.append(("identifier", f"https://hdl.handle.net/{item.handle}"))
    return IndexedItem(
        handle=item.handle,
        datestamp=item.datestamp.astimezone(dt.UTC).replace(microsecond=0),
        set_specs=(*community_specs, item.set_spec),
        deleted=item.withdrawn,
        dublin_core=tuple(dublin_core),
    )


def _set_spec(kind: str, handle: str) -> str:
    return f"{kind}_{handle.replace('/', '_')}"


def _default_set_name(spec: str) -> str:
    kind, _, rest = spec.partition("_")
    label = {"col": "Collection", "com": "Community"}.get(kind, "Set")
    return f"{label} {rest.replace('_', '/', 1)}"


# --- request handling -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    set_spec: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    from_text: str
    until_text: str
    offset: int


class OaiEndpoint:
    def __init__(self, index: OaiIndex, *, repository_name: str, identifier_prefix: str, page_size: int,
                 admin_email: str, auto_import: bool) -> None:  # fmt: skip
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.index = index
        self.repository_name = repository_name
        self.identifier_prefix = identifier_prefix
        self.page_size = page_size
        self.admin_email = admin_email
        self.auto_import = auto_import

    async def handle(self, request: web.Request) -> web.StreamResponse:
        arguments = await _arguments(request)
        base_url = f"{request.scheme}://{request.host}{request.path}"
        if self.auto_import:
            self.index.import_store()
        try:
            verb = self._verb(arguments)
            chunks = self._answer(verb, arguments, base_url)
            first = next(chunks)  # argument errors surface before any byte is sent
        except OaiProtocolError as error:
            return _xml_response(_error_document(base_url, error, arguments))
        response = web.StreamResponse(headers={"Content-Type": "text/xml; charset=utf-8"})
        await response.prepare(request)
        buffer = [first]
        size = len(first)
        for chunk in chunks:
            buffer.append(chunk)
            size += len(chunk)
            if size >= _WRITE_CHUNK:
                await response.write("".join(buffer).encode("utf-8"))
                buffer, size = [], 0
        await response.write("".join(buffer).encode("utf-8"))
        await response.write_eof()
        return response

    def _verb(self, arguments: dict[str, list[str]]) -> str:
        verbs = arguments.get("verb", [])
        if len(verbs) != 1 or verbs[0] not in _VERB_ARGUMENTS:
            raise OaiProtocolError("badVerb", "Illegal OAI verb or verb missing or repeated")
        verb = verbs[0]
        for name, values in arguments.items():
            if name == "verb":
                continue
            if name not in _VERB_ARGUMENTS[verb]:
                raise OaiProtocolError("badArgument", f"Illegal argument {name!r} for {verb}")
            if len(values) != 1:
                raise OaiProtocolError("badArgument", f"Argument {name!r} is repeated")
        if "resumptionToken" in arguments and len(arguments) > 2:
            raise OaiProtocolError("badArgument", "resumptionToken is an exclusive argument")
        return verb

    def _answer(self, verb: str, arguments: dict[str, list[str]], base_url: str) -> Iterator[str]:
        args = {name: values[0] for name, values in arguments.items()}
        if verb == "Identify":
            return self._identify(base_url)
        if verb == "ListMetadataFormats":
            return self._list_metadata_formats(base_url, args)
        if verb == "ListSets":
            return self._list_sets(base_url, args)
        if verb == "GetRecord":
            return self._get_record(base_url, args)
        return self._list(verb, base_url, args)

    # --- verbs ---

    def _identify(self, base_url: str) -> Iterator[str]:
        yield _preamble() + f'<request verb="Identify">{_text(base_url)}</request><Identify>'
        yield (
            f"<repositoryName>{_text(self.repository_name)}</repositoryName><baseURL>{_text(base_url)}</baseURL>"
            "<protocolVersion>2.0</protocolVersion>"
            f"<adminEmail>{_text(self.admin_email)}</adminEmail>"
            f"<earliestDatestamp>{self.index.earliest().strftime(SECONDS_FORMAT)}</earliestDatestamp>"
            "<deletedRecord>transient</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
            "</Identify></OAI-PMH>\n"
        )

    def _list_metadata_formats(self, base_url: str, args: dict[str, str]) -> Iterator[str]:
        if "identifier" in args:
            self._item_for(args["identifier"])
        yield _preamble() + f'<request verb="ListMetadataFormats">{_text(base_url)}</request><ListMetadataFormats>'
        yield (
            "<metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
            "<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"
            "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"
            "</metadataFormat></ListMetadataFormats></OAI-PMH>\n"
        )

    def _list_sets(self, base_url: str, args: dict[str, str]) -> Iterator[str]:
        sets = self.index.sets()
        offset = 0
        if "resumptionToken" in args:
            _prefix, _from, _until, _set, offset = _parse_token(args["resumptionToken"], allow_empty_prefix=True)
        page = sets[offset : offset + self.page_size]
        if offset and not page:
            raise OaiProtocolError("badResumptionToken", "The resumption token is past the end of the list")
        yield _preamble() + f'<request verb="ListSets">{_text(base_url)}</request><ListSets>'
        for spec, name in page:
            yield f"<set><setSpec>{_text(spec)}</setSpec><setName>{_text(name)}</setName></set>"
        paged = len(sets) > self.page_size
        yield self._token(("", "", "", ""), offset=offset, count=len(page), total=len(sets), paged=paged)
        yield "</ListSets></OAI-PMH>\n"

    def _get_record(self, base_url: str, args: dict[str, str]) -> Iterator[str]:
        if "identifier" not in args or "metadataPrefix" not in args:
            raise OaiProtocolError("badArgument", "GetRecord needs identifier and metadataPrefix")
        _check_prefix(args["metadataPrefix"])
        entry = self._item_for(args["identifier"])
        yield _preamble() + (
            f'<request verb="GetRecord" identifier={quoteattr(args["identifier"])} metadataPrefix="oai_dc">'
            f"{_text(base_url)}</request><GetRecord>"
        )
        yield self._record(entry)
        yield "</GetRecord></OAI-PMH>\n"

    def _list(self, verb: str, base_url: str, args: dict[str, str]) -> Iterator[str]:
        query, prefix = self._list_query(args)
        items, lo, hi = self.index.select(query.set_spec, query.start, query.end)
        total = hi - lo
        if total == 0:
            raise OaiProtocolError("noRecordsMatch", "No records match the request")
        start = lo + query.offset
        if query.offset and start >= hi:
            raise OaiProtocolError("badResumptionToken", "The resumption token is past the end of the list")
        stop = min(hi, start + self.page_size)
        yield _preamble() + f"<request verb={quoteattr(verb)}{_request_attributes(args)}>{_text(base_url)}</request>"
        yield f"<{verb}>"
        render = self._record if verb == "ListRecords" else self._header
        for position in range(start, stop):
            yield render(items[position])
        filters = (prefix, query.from_text, query.until_text, query.set_spec or "")
        yield self._token(filters, offset=query.offset, count=stop - start, total=total, paged=total > self.page_size)
        yield f"</{verb}></OAI-PMH>\n"

    def _list_query(self, args: dict[str, str]) -> tuple[_Query, str]:
        if "resumptionToken" in args:
            prefix, from_text, until_text, set_spec, offset = _parse_token(args["resumptionToken"])
        else:
            if "metadataPrefix" not in args:
                raise OaiProtocolError("badArgument", "metadataPrefix is required")
            prefix, offset = args["metadataPrefix"], 0
            from_text, until_text, set_spec = args.get("from", ""), args.get("until", ""), args.get("set", "")
        _check_prefix(prefix)
        start = _parse_bound(from_text, upper=False)
        end = _parse_bound(until_text, upper=True)
        if from_text and until_text and len(from_text) != len(until_text):
            raise OaiProtocolError("badArgument", "from and until must have the same granularity")
        if start is not None and end is not None and start > end:
            raise OaiProtocolError("badArgument", "from is after until")
        query = _Query(set_spec or None, start, end, from_text, until_text, offset)
        return query, prefix

    # --- fragments ---

    def _item_for(self, identifier: str) -> IndexedItem:
        expected = f"oai:{self.identifier_prefix}:"
        entry = self.index.by_handle.get(identifier[len(expected) :]) if identifier.startswith(expected) else None
        if entry is None:
            raise OaiProtocolError("idDoesNotExist", f"No item with identifier {identifier}")
        return entry

    def _header(self, entry: IndexedItem) -> str:
        status = ' status="deleted"' if entry.deleted else ""
        specs = "".join(f"<setSpec>{spec}</setSpec>" for spec in entry.set_specs)
        return (
            f"<header{status}><identifier>oai:{self.identifier_prefix}:{_text(entry.handle)}</identifier>"
            f"<datestamp>{entry.datestamp.strftime(SECONDS_FORMAT)}</datestamp>{specs}</header>"
        )

    def _record(self, entry: IndexedItem) -> str:
        if entry.deleted:  # deleted records carry no metadata
            return f"<record>{self._header(entry)}</record>"
        values = "".join(f"<dc:{element}>{_text(value)}</dc:{element}>" for element, value in entry.dublin_core)
        return (
            f"<record>{self._header(entry)}<metadata>"
            '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"{values}</oai_dc:dc></metadata></record>"
        )

    @staticmethod
    def _token(filters: tuple[str, str, str, str], *, offset: int, count: int, total: int, paged: bool) -> str:
        """The resumptionToken element; ``filters`` is (metadataPrefix, from, until, set) as the token keeps them."""
        if not paged:
            return ""  # a list that fits one page carries no token at all
        next_offset = offset + count
        token = "/".join((*filters, str(next_offset))) if next_offset < total else ""
        return f'<resumptionToken completeListSize="{total}" cursor="{offset}">{_text(token)}</resumptionToken>'


STORE_KEY = web.AppKey("dspace_store", DSpaceStore)
INDEX_KEY = web.AppKey("oai_index", OaiIndex)

# --- helpers ---------------------------------------------------------------------------------------------------


async def _arguments(request: web.Request) -> dict[str, list[str]]:
    arguments: dict[str, list[str]] = {}
    pairs = list(request.query.items())
    if request.method == "POST":
        pairs += list((await request.post()).items())
    for name, value in pairs:
        arguments.setdefault(name, []).append(str(value))
    return arguments


def _parse_token(token: str, *, allow_empty_prefix: bool = False) -> tuple[str, str, str, str, int]:
    parts = token.split("/")
    if len(parts) != 5 or not parts[4].isdigit() or (not parts[0] and not allow_empty_prefix):
        raise OaiProtocolError("badResumptionToken", "The value of the resumptionToken argument is invalid")
    prefix, from_text, until_text, set_spec, offset = parts
    try:
        _parse_bound(from_text, upper=False)
        _parse_bound(until_text, upper=True)
    except OaiProtocolError as error:
        raise OaiProtocolError("badResumptionToken", "The resumptionToken carries an invalid date") from error
    return prefix, from_text, until_text, set_spec, int(offset)


def _parse_bound(text: str, *, upper: bool) -> dt.datetime | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.datetime.strptime(text, DAY_FORMAT).replace(tzinfo=dt.UTC)
            return day + dt.timedelta(days=1, seconds=-1) if upper else day
        return dt.datetime.strptime(text, SECONDS_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError as error:
        raise OaiProtocolError("badArgument", f"Illegal date {text!r}") from error


def _check_prefix(prefix: str) -> None:
    if prefix != METADATA_PREFIX:
        raise OaiProtocolError("cannotDisseminateFormat", f"Metadata format {prefix!r} is not supported")


def _request_attributes(args: dict[str, str]) -> str:
    return "".join(f" {name}={quoteattr(value)}" for name, value in sorted(args.items()) if name != "verb")


def _text(value: str) -> str:
    return escape(_INVALID_XML_CHARS.sub("", value))


def _preamble() -> str:
    now = dt.datetime.now(dt.UTC).strftime(SECONDS_FORMAT)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
        f"<responseDate>{now}</responseDate>"
    )


def _error_document(base_url: str, error: OaiProtocolError, arguments: dict[str, list[str]]) -> str:
    # The spec: for badVerb/badArgument the request element carries no attributes.
    attributes = ""
    if error.code not in ("badVerb", "badArgument"):
        verb = arguments.get("verb", [""])[0]
        attributes = f" verb={quoteattr(verb)}" + _request_attributes({k: v[0] for k, v in arguments.items()})
    return (
        _preamble()
        + f"<request{attributes}>{_text(base_url)}</request>"
        + f"<error code={quoteattr(error.code)}>{_text(error.message)}</error></OAI-PMH>\n"
    )


def _xml_response(body: str) -> web.Response:
    return web.Response(body=body.encode("utf-8"), headers={"Content-Type": "text/xml; charset=utf-8"})


async def _import_now(request: web.Request) -> web.Response:
    indexed = request.app[INDEX_KEY].import_store()
    return web.json_response({"indexed": indexed})


def make_oai_app(
    store: DSpaceStore,
    *,
    repository_name: str = "DSpace@Sandbox",
    base_url_path: str = "/oai/request",
    identifier_prefix: str = "dspace.sandbox.test",
    page_size: int = 100,
    admin_email: str = "dspace-admin@sandbox.test",
    communities: Mapping[str, Iterable[str]] | None = None,
    set_names: Mapping[str, str] | None = None,
    list_withdrawn: bool = True,
    auto_import: bool = True,
) -> web.Application:
    """Build the OAI-PMH application.

    :param store: the repository the endpoint serves (shared with the SWORD endpoint).
    :param identifier_prefix: the host part of ``oai:<host>:<handle>`` (DSpace's ``oai.identifier.prefix``).
    :param page_size: records per list page (DSpace ships 100).
    :param communities: community handle -> collection handles, for ``com_`` sets and item set membership.
    :param set_names: set spec -> display name for ListSets.
    :param list_withdrawn: list withdrawn items as deleted headers (False: only GetRecord shows them, as some
        DSpace configurations do).
    :param auto_import: refresh the OAI index before every request (False: only on ``POST /_sandbox/oai/import``).
    """
    app = make_app("dspace-oai")
    index = OaiIndex(store, communities=communities, set_names=set_names, list_withdrawn=list_withdrawn)
    endpoint = OaiEndpoint(
        index,
        repository_name=repository_name,
        identifier_prefix=identifier_prefix,
        page_size=page_size,
        admin_email=admin_email,
        auto_import=auto_import,
    )
    app[STORE_KEY] = store
    app[INDEX_KEY] = index
    resource = app.router.add_resource(base_url_path, name=ROUTE_NAME)
    resource.add_route("GET", endpoint.handle)
    resource.add_route("POST", endpoint.handle)
    app.router.add_post(f"{CONTROL_PREFIX}/oai/import", _import_now, name=IMPORT_ROUTE_NAME)
    return app
