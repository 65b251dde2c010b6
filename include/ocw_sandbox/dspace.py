"""Sandbox DSpace SWORD deposit endpoints (v1 and v2) over the shared :class:`DSpaceStore`.

Speaks what DSpace's ``dspace-sword`` and ``dspace-swordv2`` modules speak (see external-systems.md 3.1-3.3):

* ``POST /sword/deposit/<prefix>/<suffix>`` (v1): ``Content-Type: application/zip``, ``X-Packaging``
  METSDSpaceSIP, ``X-Verbose``/``X-No-Op`` true|false, ``X-On-Behalf-Of``, ``Content-MD5`` (hex);
  201 with the handle URL in ``atom:id`` and ``link rel="alternate"``, or 202 (workflow) without a handle;
* ``POST /swordv2/collection/<prefix>/<suffix>`` (v2): ``Packaging``, ``On-Behalf-Of``, ``In-Progress``,
  ``Content-Disposition: attachment; filename=...`` required; 201 with ``Location`` = Edit-IRI, ``atom:id`` =
  Edit-IRI and the handle only in ``link rel="alternate"`` (absent while in workflow);
* ``GET /swordv2/edit/<id>``: the current receipt (shows the handle once the workflow finished);
* errors as ``sword:error`` documents: 401 (+ ``WWW-Authenticate``), 412 ErrorChecksumMismatch,
  415 ErrorContent, 413 max upload size, 400 ErrorBadRequest / BadUrl / UnpackageFail / PackageValidationError,
  TargetOwnerUnknown for an on-behalf-of user DSpace does not know (401 in v1, 403 in v2; only when
  ``app[SWORD_STATE].known_users`` is set).

The upload is spooled to disk while its MD5 is computed, then unpacked entry by entry into a temporary
directory (never held in memory), ``mets.xml`` is checked (root, PROFILE, MODS or DIM title and
dc.identifier.uri, every FLocat present, MD5 CHECKSUMs) and the item is created in the store.
``app[SWORD_STATE].workflow = True`` makes deposits go into the workflow; ``store.touch(handle, in_workflow=False)``
finishes them. 5xx and hangs come from the fault middleware (route names ``sword_deposit``,
``swordv2_deposit``, ``swordv2_edit``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import re
import shutil
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from lxml import etree

from ocw_sandbox.dspace_store import DSpaceStore, SandboxItem
from ocw_sandbox.faults import make_app

ATOM = "http://www.w3.org/2005/Atom"
SWORD_V1 = "http://purl.org/net/sword/"
SWORD_V2 = "http://purl.org/net/sword/terms/"
METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
DIM = "http://www.dspace.org/xmlns/dspace/dim"
MODS = "http://www.loc.gov/mods/v3"
V1_PACKAGING = "http://purl.org/net/sword-types/METSDSpaceSIP"
V2_PACKAGING = "http://purl.org/net/sword/package/METSDSpaceSIP"
ERR = "http://purl.org/net/sword/error/"
DSPACE_ERR = "http://www.dspace.org/ns/sword/1.3.1/errors/"
CHUNK = 1024 * 1024


@dataclass
class SwordState:
    """Mutable sandbox settings and what was deposited (tests read and flip these)."""

    workflow: bool = False
    max_upload_size: int = 0  # 0 = unlimited, as sword-server.max-upload-size
    known_users: set[str] | None = None  # on-behalf-of users DSpace knows; None accepts anyone
    deposits: list[dict] = field(default_factory=list)
    edit_ids: dict[str, str] = field(default_factory=dict)  # v2 Edit-IRI id -> handle


SWORD_STATE = web.AppKey("sword_state", SwordState)
STORE = web.AppKey("dspace_store", DSpaceStore)


class SwordFailure(Exception):
    def __init__(self, status: int, uri: str, summary: str) -> None:
        super().__init__(summary)
        self.status, self.uri, self.summary = status, uri, summary


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_document(version: int, failure: SwordFailure, user_agent: str) -> bytes:
    sword = SWORD_V1 if version == 1 else SWORD_V2
    root = etree.Element(f"{{{sword}}}error", nsmap={"sword": sword, "atom": ATOM}, href=failure.uri)
    etree.SubElement(root, f"{{{ATOM}}}title").text = "ERROR"
    etree.SubElement(root, f"{{{ATOM}}}updated").text = _now()
    generator = etree.SubElement(root, f"{{{ATOM}}}generator", uri="http://www.dspace.org/ns/sword/1.3.1")
    generator.set("version", "1.3" if version == 1 else "2.0")
    etree.SubElement(root, f"{{{sword}}}treatment").text = "Processing failed"
    etree.SubElement(root, f"{{{ATOM}}}summary").text = failure.summary
    if version == 1:
        etree.SubElement(root, f"{{{sword}}}userAgent").text = user_agent
    else:
        etree.SubElement(root, f"{{{sword}}}verboseDescription").text = failure.summary
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _safe_member(name: str) -> bool:
    """Zip entry names DSpace would unpack safely: relative, no '..', '.', empty parts, NUL or backslash."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return False
    return all(part not in ("", ".", "..") for part in name.removesuffix("/").split("/"))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def unpack_and_read(package: Path, workdir: Path) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Unpack ``package`` into ``workdir`` (streaming) and read its METS manifest.

    Returns (Dublin Core values, file sizes). Raises :class:`SwordFailure` for anything DSpace would refuse.
    """
    sizes, md5s = _unpack(package, workdir)
    if "mets.xml" not in sizes:
        raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", "no mets.xml at the root of the package")
    root = _read_mets(workdir / "mets.xml")
    dublin_core = _descriptive_metadata(root)
    for file_element in root.iter(f"{{{METS}}}file"):
        location = file_element.find(f"{{{METS}}}FLocat")
        href = location.get(f"{{{XLINK}}}href") if location is not None else None
        if href not in sizes:
            raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", f"mets.xml names {href!r}, not in the zip")
        checksum = file_element.get("CHECKSUM")
        if checksum and file_element.get("CHECKSUMTYPE", "MD5") == "MD5" and checksum.lower() != md5s[href]:
            raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", f"checksum mismatch for {href!r}")
    return dublin_core, {name: size for name, size in sizes.items() if name != "mets.xml"}


def _unpack(package: Path, workdir: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Extract every entry chunk by chunk; return sizes and MD5s by entry name."""
    try:
        archive = zipfile.ZipFile(package)
    except (zipfile.BadZipFile, OSError) as error:
        raise SwordFailure(400, DSPACE_ERR + "UnpackageFail", f"the package is not a zip: {error}") from None
    sizes, md5s = {}, {}
    with archive:
        for info in archive.infolist():
            if not _safe_member(info.filename):
                raise SwordFailure(400, DSPACE_ERR + "UnpackageFail", f"unsafe zip entry name {info.filename!r}")
            if info.is_dir():
                continue
            target = workdir / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.md5(usedforsecurity=False)
            try:
                with archive.open(info) as source, open(target, "wb") as sink:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        sink.write(chunk)
            except (zipfile.BadZipFile, OSError) as error:
                raise SwordFailure(
                    400, DSPACE_ERR + "UnpackageFail", f"cannot unpack {info.filename!r}: {error}"
                ) from None
            sizes[info.filename] = info.file_size
            md5s[info.filename] = digest.hexdigest()
    return sizes, md5s


def _read_mets(path: Path) -> etree._Element:
    try:
        root = etree.fromstring(path.read_bytes(), _parser())
    except etree.XMLSyntaxError as error:
        raise SwordFailure(
            400, DSPACE_ERR + "PackageValidationError", f"mets.xml is not well-formed: {error}"
        ) from None
    if root.getroottree().docinfo.doctype:
        raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", "mets.xml declares a DOCTYPE")
    if root.tag != f"{{{METS}}}mets":
        raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", "mets.xml root is not mets:mets")
    if not (root.get("PROFILE") or "").startswith("DSpace METS SIP Profile"):
        raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", f"unsupported PROFILE {root.get('PROFILE')!r}")
    return root


def _descriptive_metadata(root: etree._Element) -> dict[str, list[str]]:
    """MODS preferred, else DIM (as DSpaceMETSIngester chooses): title, identifier.uri and the rest."""
    values: dict[str, list[str]] = {}

    def add(key: str, text: str | None) -> None:
        if text and text.strip():
            values.setdefault(key, []).append(text.strip())

    mods = root.find(f".//{{{METS}}}mdWrap[@MDTYPE='MODS']//{{{MODS}}}mods")
    if mods is not None:
        for title in mods.iterfind(f"{{{MODS}}}titleInfo/{{{MODS}}}title"):
            add("title", title.text)
        for identifier in mods.iterfind(f"{{{MODS}}}identifier"):
            add(
                {"uri": "identifier.uri", "local": "identifier.other"}.get(identifier.get("type"), "identifier"),
                identifier.text,
            )
        for part in mods.iterfind(f"{{{MODS}}}name/{{{MODS}}}namePart"):
            add("contributor.department", part.text)
        for term in mods.iterfind(f"{{{MODS}}}originInfo/{{{MODS}}}dateOther"):
            add("coverage.temporal", term.text)
    else:
        dim = root.find(f".//{{{DIM}}}dim")
        if dim is None:
            raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", "no MODS or DIM descriptive metadata")
        for element in dim.iterfind(f"{{{DIM}}}field"):
            key = element.get("element", "")
            if element.get("qualifier"):
                key += "." + element.get("qualifier")
            add(key, element.text)
    if "title" not in values:
        raise SwordFailure(400, DSPACE_ERR + "PackageValidationError", "the descriptive metadata has no title")
    return values


def _check_auth(request: web.Request, username: str, password: str) -> None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, secret = "", ""
        if user == username and secret == password:
            return
    raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="SWORD"'}, text="Unauthorized")


def _flag(request: web.Request, name: str, default: str = "false") -> bool:
    value = request.headers.get(name, default).strip().lower()
    if value not in ("true", "false"):
        raise SwordFailure(400, ERR + "ErrorBadRequest", f"Bad {name.lower().removeprefix('x-')}: {value!r}")
    return value == "true"


def _filename(request: web.Request, *, required: bool) -> str:
    match = re.search(r'filename="?([^";]+)"?', request.headers.get("Content-Disposition", ""))
    if match is None:
        if required:
            raise SwordFailure(400, ERR + "ErrorBadRequest", "Content-Disposition with a filename is required")
        return "package.zip"
    return match.group(1)


class _DepositHandler:
    def __init__(
        self,
        store: DSpaceStore,
        state: SwordState,
        *,
        username: str,
        password: str,
        collections: dict[str, str] | None,
        spool_dir: Path | None,
        handle_base: str,
    ) -> None:
        self.store, self.state = store, state
        self.username, self.password = username, password
        self.collections = collections
        self.spool_dir = spool_dir
        self.handle_base = handle_base

    async def deposit(self, request: web.Request, version: int) -> web.StreamResponse:
        _check_auth(request, self.username, self.password)
        user_agent = request.headers.get("User-Agent", "")
        try:
            return await self._deposit(request, version, user_agent)
        except SwordFailure as failure:
            return web.Response(
                status=failure.status,
                body=_error_document(version, failure, user_agent),
                content_type="application/atom+xml",
                charset="utf-8",
            )

    def _validate_headers(self, request: web.Request, version: int) -> dict:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if version == 1:
            if content_type != "application/zip":
                raise SwordFailure(
                    415, ERR + "ErrorContent", f"Unacceptable content type in deposit request: {content_type}"
                )
            if request.headers.get("X-Packaging", "") != V1_PACKAGING:
                raise SwordFailure(
                    415, ERR + "ErrorContent", f"Unacceptable packaging: {request.headers.get('X-Packaging')}"
                )
            no_op = _flag(request, "X-No-Op")
            _flag(request, "X-Verbose")
            return {
                "no_op": no_op,
                "in_progress": False,
                "on_behalf_of": request.headers.get("X-On-Behalf-Of"),
                "filename": _filename(request, required=False),
            }
        if request.headers.get("Packaging", "http://purl.org/net/sword/package/Binary") != V2_PACKAGING:
            raise SwordFailure(415, ERR + "ErrorContent", "this repository unpacks METSDSpaceSIP packages only")
        return {
            "no_op": False,
            "in_progress": _flag(request, "In-Progress"),
            "on_behalf_of": request.headers.get("On-Behalf-Of"),
            "filename": _filename(request, required=True),
        }

    async def _spool(self, request: web.Request, target: Path) -> tuple[str, int]:
        limit = self.state.max_upload_size
        digest, size = hashlib.md5(usedforsecurity=False), 0
        with open(target, "wb") as sink:
            async for chunk in request.content.iter_chunked(CHUNK):
                size += len(chunk)
                if limit and size > limit:
                    raise SwordFailure(413, ERR + "MAX_UPLOAD_SIZE_EXCEEDED", f"upload exceeds {limit} bytes")
                digest.update(chunk)
                sink.write(chunk)
        return digest.hexdigest(), size

    async def _deposit(self, request: web.Request, version: int, user_agent: str) -> web.StreamResponse:
        collection = f"{request.match_info['prefix']}/{request.match_info['suffix']}"
        if self.collections is not None and collection not in self.collections:
            raise SwordFailure(400, DSPACE_ERR + "BadUrl", f"no collection with handle {collection}")
        options = self._validate_headers(request, version)
        on_behalf_of = options["on_behalf_of"]
        if on_behalf_of and self.state.known_users is not None and on_behalf_of not in self.state.known_users:
            # SWORDErrorException's status map: TargetOwnerUnknown is 401 in v1 and 403 in v2.
            raise SwordFailure(
                401 if version == 1 else 403, ERR + "TargetOwnerUnknown", f"unknown user {on_behalf_of!r}"
            )
        limit = self.state.max_upload_size
        if limit and request.content_length and request.content_length > limit:
            raise SwordFailure(
                413, ERR + "MAX_UPLOAD_SIZE_EXCEEDED", f"upload of {request.content_length} bytes exceeds {limit}"
            )
        workdir = Path(tempfile.mkdtemp(prefix="sword-", dir=self.spool_dir))
        try:
            md5, size = await self._spool(request, workdir / "upload.zip")
            claimed = request.headers.get("Content-MD5", "").strip().lower()
            if claimed and claimed != md5:
                raise SwordFailure(412, ERR + "ErrorChecksumMismatch", "Received file does not have the same checksum")
            unpacked = workdir / "unpacked"
            unpacked.mkdir()
            dublin_core, files = await asyncio.to_thread(unpack_and_read, workdir / "upload.zip", unpacked)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        if options["no_op"]:
            return self._receipt(version, None, request, status=200, user_agent=user_agent, no_op=True)
        in_workflow = self.state.workflow or options["in_progress"]
        item = self.store.create(collection, dublin_core, in_workflow=in_workflow, files=files)
        self.state.deposits.append(
            {
                "handle": item.handle,
                "version": version,
                "md5": md5,
                "size": size,
                "filename": options["filename"],
                "on_behalf_of": options["on_behalf_of"],
            }
        )
        return self._receipt(
            version, item, request, status=202 if in_workflow and version == 1 else 201, user_agent=user_agent
        )

    def edit_iri(self, request: web.Request, item: SandboxItem) -> str:
        for edit_id, handle in self.state.edit_ids.items():
            if handle == item.handle:
                return f"{request.url.origin()}/swordv2/edit/{edit_id}"
        edit_id = str(uuid.uuid4())
        self.state.edit_ids[edit_id] = item.handle
        return f"{request.url.origin()}/swordv2/edit/{edit_id}"

    def _receipt(
        self,
        version: int,
        item: SandboxItem | None,
        request: web.Request,
        *,
        status: int,
        user_agent: str,
        no_op: bool = False,
    ) -> web.Response:
        sword = SWORD_V1 if version == 1 else SWORD_V2
        origin = str(request.url.origin())
        archived = item is not None and not item.in_workflow
        handle_url = f"{self.handle_base}{item.handle}" if archived else None
        entry = etree.Element(
            f"{{{ATOM}}}entry", nsmap={"atom": ATOM, "sword": sword, "dcterms": "http://purl.org/dc/terms/"}
        )
        headers = {}
        if version == 1:
            etree.SubElement(entry, f"{{{ATOM}}}id").text = handle_url or f"{origin}/"
        else:
            edit = self.edit_iri(request, item) if item else f"{origin}/"
            etree.SubElement(entry, f"{{{ATOM}}}id").text = edit
            headers["Location"] = edit
        title = (item.dublin_core.get("title") or [""])[0] if item else ""
        etree.SubElement(entry, f"{{{ATOM}}}title", type="text").text = title
        etree.SubElement(entry, f"{{{ATOM}}}updated").text = _now()
        etree.SubElement(etree.SubElement(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = self.username
        if item is not None:
            package_url = f"{origin}/bitstream/{item.handle}/package.zip"
            etree.SubElement(entry, f"{{{ATOM}}}content", type="application/zip", src=package_url)
            if version == 1:
                headers["Location"] = f"{origin}/sword/media-link/{item.handle}/bitstream/{uuid.uuid4()}"
            else:
                etree.SubElement(entry, f"{{{ATOM}}}link", rel="edit", href=headers["Location"])
                etree.SubElement(
                    entry,
                    f"{{{ATOM}}}link",
                    rel="edit-media",
                    href=headers["Location"].replace("/edit/", "/edit-media/"),
                )
                etree.SubElement(
                    entry,
                    f"{{{ATOM}}}link",
                    rel=f"{SWORD_V2}statement",
                    href=headers["Location"].replace("/edit/", "/statement/"),
                )
        if handle_url:
            etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=handle_url)
        generator = etree.SubElement(entry, f"{{{ATOM}}}generator", uri="http://www.dspace.org/ns/sword/1.3.1")
        generator.set("version", "1.3" if version == 1 else "2.0")
        etree.SubElement(entry, f"{{{sword}}}treatment").text = (
            "The package has been deposited into DSpace. "
            "Each file has been unpacked and provided with a unique identifier."
        )
        etree.SubElement(entry, f"{{{sword}}}packaging").text = V1_PACKAGING if version == 1 else V2_PACKAGING
        if version == 1:
            etree.SubElement(entry, f"{{{sword}}}noOp").text = "true" if no_op else "false"
            etree.SubElement(entry, f"{{{sword}}}userAgent").text = user_agent
        return web.Response(
            status=status,
            body=etree.tostring(entry, xml_declaration=True, encoding="UTF-8"),
            content_type="application/atom+xml",
            charset="utf-8",
            headers=headers,
        )


def make_dspace_app(
    store: DSpaceStore,
    *,
    username: str,
    password: str,
    collections: dict[str, str] | None = None,
    workflow: bool = False,
    max_upload_size: int = 0,
    spool_dir: Path | str | None = None,
    handle_base: str = "http://hdl.handle.net/",
) -> web.Application:
    """The SWORD v1 + v2 deposit application over ``store``.

    :param collections: collection handle -> name; deposits to other handles get BadUrl. None accepts any.
    :param workflow: start in workflow mode (202, no handle); switch later with ``app[SWORD_STATE].workflow``.
    :param max_upload_size: bytes; 0 means unlimited.
    """
    app = make_app("dspace")
    if spool_dir is not None:
        Path(spool_dir).mkdir(parents=True, exist_ok=True)
    state = SwordState(workflow=workflow, max_upload_size=max_upload_size)
    handler = _DepositHandler(
        store,
        state,
        username=username,
        password=password,
        collections=collections,
        spool_dir=Path(spool_dir) if spool_dir else None,
        handle_base=handle_base,
    )
    app[SWORD_STATE] = state
    app[STORE] = store

    async def deposit_v1(request: web.Request) -> web.StreamResponse:
        return await handler.deposit(request, 1)

    async def deposit_v2(request: web.Request) -> web.StreamResponse:
        return await handler.deposit(request, 2)

    async def edit(request: web.Request) -> web.StreamResponse:
        _check_auth(request, username, password)
        handle = state.edit_ids.get(request.match_info["edit_id"])
        item = store.get(handle) if handle else None
        if item is None:
            raise web.HTTPNotFound()
        return handler._receipt(2, item, request, status=200, user_agent=request.headers.get("User-Agent", ""))

    async def service_document(request: web.Request) -> web.StreamResponse:
        _check_auth(request, username, password)
        service = etree.Element(
            "{http://www.w3.org/2007/app}service", nsmap={None: "http://www.w3.org/2007/app", "atom": ATOM}
        )
        workspace = etree.SubElement(service, "{http://www.w3.org/2007/app}workspace")
        etree.SubElement(workspace, f"{{{ATOM}}}title").text = "Sandbox DSpace"
        base = "/sword/deposit/" if request.path.startswith("/sword/") else "/swordv2/collection/"
        for handle, name in (collections or {}).items():
            collection = etree.SubElement(
                workspace, "{http://www.w3.org/2007/app}collection", href=f"{request.url.origin()}{base}{handle}"
            )
            etree.SubElement(collection, f"{{{ATOM}}}title").text = name
        return web.Response(
            body=etree.tostring(service, xml_declaration=True, encoding="UTF-8"),
            content_type="application/atomserv+xml",
        )

    app.router.add_post("/sword/deposit/{prefix}/{suffix}", deposit_v1, name="sword_deposit")
    app.router.add_post("/swordv2/collection/{prefix}/{suffix}", deposit_v2, name="swordv2_deposit")
    app.router.add_get("/swordv2/edit/{edit_id}", edit, name="swordv2_edit")
    app.router.add_get("/sword/servicedocument", service_document, name="sword_servicedocument")
    app.router.add_get("/swordv2/servicedocument", service_document, name="swordv2_servicedocument")
    return app
