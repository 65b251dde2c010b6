"""The DSpace METS SIP: ``mets.xml`` at the zip's root plus the course's files, streamed to disk.

DSpace's ``DSpaceMETSIngester`` requires ``mets@PROFILE`` to start with "DSpace METS SIP Profile" and reads
the descriptive metadata from a MODS or DIM ``dmdSec``; each ``file`` carries SIZE and an MD5 CHECKSUM so the
repository can verify every bitstream (the sandbox does). The zip is written by :class:`StreamingZipWriter`,
which hashes it while writing, so the Content-MD5 of the deposit is known without reading the zip again.
Memory stays flat: the course's files are streamed one chunk at a time and only ``mets.xml`` is in memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from ocw_operators.retirement.course import Course
from ocw_operators.retirement.holding import FileRecord, HoldingArea, HoldingAreaError, atomic_writer
from ocw_operators.retirement.zipstream import StreamingZipWriter

METS_PROFILE = "DSpace METS SIP Profile 1.0"
METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
DIM_NS = "http://www.dspace.org/xmlns/dspace/dim"
MODS_NS = "http://www.loc.gov/mods/v3"
DescriptiveFormat = Literal["dim", "mods"]


@dataclass(frozen=True)
class SipFile:
    member: str  # path inside the zip
    path: Path
    record: FileRecord
    mime_type: str
    group: Literal["CONTENT", "METADATA"]


@dataclass(frozen=True)
class SipResult:
    path: str
    md5: str
    size: int
    file_count: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _m(tag: str) -> str:
    return f"{{{METS_NS}}}{tag}"


def descriptive_fields(course: Course) -> list[tuple[str, str | None, str]]:
    """(element, qualifier, value) in the dc schema: title, course number, term, department, URI."""
    return [
        ("title", None, course.title),
        ("identifier", "uri", course.url),
        ("identifier", "other", course.course_number),
        ("coverage", "temporal", course.term),
        ("contributor", "department", course.department),
        ("type", None, "Learning Object"),
    ]


def _dim_wrap(parent: etree._Element, course: Course) -> None:
    wrap = etree.SubElement(parent, _m("mdWrap"), MDTYPE="OTHER", OTHERMDTYPE="DIM", MIMETYPE="text/xml")
    dim = etree.SubElement(etree.SubElement(wrap, _m("xmlData")), f"{{{DIM_NS}}}dim", nsmap={"dim": DIM_NS})
    dim.set("dspaceType", "ITEM")
    for element, qualifier, value in descriptive_fields(course):
        field = etree.SubElement(dim, f"{{{DIM_NS}}}field", mdschema="dc", element=element)
        if qualifier:
            field.set("qualifier", qualifier)
        field.text = value


def _mods_wrap(parent: etree._Element, course: Course) -> None:
    wrap = etree.SubElement(parent, _m("mdWrap"), MDTYPE="MODS", MIMETYPE="text/xml")
    mods = etree.SubElement(etree.SubElement(wrap, _m("xmlData")), f"{{{MODS_NS}}}mods", nsmap={"mods": MODS_NS})

    def sub(parent_element: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent_element, f"{{{MODS_NS}}}{tag}", **attributes)
        element.text = text
        return element

    sub(sub(mods, "titleInfo"), "title", course.title)
    sub(mods, "identifier", course.url, type="uri")
    sub(mods, "identifier", course.course_number, type="local")
    name = sub(mods, "name", type="corporate")
    sub(name, "namePart", course.department)
    sub(sub(name, "role"), "roleTerm", "department", type="text")
    sub(sub(mods, "originInfo"), "dateOther", course.term, type="term")
    sub(mods, "genre", "Learning Object")


def build_mets(course: Course, files: list[SipFile], *, descriptive: DescriptiveFormat, created: dt.datetime) -> bytes:
    """The ``mets.xml`` document for ``course`` listing ``files``."""
    mets = etree.Element(
        _m("mets"),
        nsmap={None: METS_NS, "xlink": XLINK_NS},
        ID="ocw-course-mets",
        OBJID=course.url,
        LABEL=f"OCW course {course.course_id}",
        PROFILE=METS_PROFILE,
    )
    header = etree.SubElement(mets, _m("metsHdr"), CREATEDATE=created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    agent = etree.SubElement(header, _m("agent"), ROLE="CUSTODIAN", TYPE="ORGANIZATION")
    etree.SubElement(agent, _m("name")).text = "OpenCourseWare"
    dmd = etree.SubElement(mets, _m("dmdSec"), ID="dmd-course", GROUPID="dmd-group-course")
    (_mods_wrap if descriptive == "mods" else _dim_wrap)(dmd, course)

    file_sec = etree.SubElement(mets, _m("fileSec"))
    groups = {use: etree.SubElement(file_sec, _m("fileGrp"), USE=use) for use in ("CONTENT", "METADATA")}
    struct_map = etree.SubElement(mets, _m("structMap"), ID="struct-course", LABEL="structure", TYPE="LOGICAL")
    item_div = etree.SubElement(struct_map, _m("div"), ID="div-item", DMDID="dmd-course", TYPE="DSpace Item")
    for number, sip_file in enumerate(files, start=1):
        file_id = f"file-{number}"
        element = etree.SubElement(
            groups[sip_file.group],
            _m("file"),
            ID=file_id,
            MIMETYPE=sip_file.mime_type,
            SIZE=str(sip_file.record.size),
            CHECKSUM=sip_file.record.md5,
            CHECKSUMTYPE="MD5",
        )
        etree.SubElement(element, _m("FLocat"), LOCTYPE="URL").set(f"{{{XLINK_NS}}}href", sip_file.member)
        div = etree.SubElement(item_div, _m("div"), ID=f"div-{file_id}", TYPE="DSpace Object Contents")
        etree.SubElement(div, _m("fptr"), FILEID=file_id)
    for group in groups.values():
        if len(group) == 0:
            file_sec.remove(group)
    return etree.tostring(mets, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def sip_files(holding: HoldingArea, course: Course, records: dict[str, FileRecord]) -> list[SipFile]:
    """The files to package, each checked against the manifest (present, regular, same size)."""
    files = []
    for resource in course.resources:
        members = [(resource.content_member, resource.mime_type, "CONTENT")]
        if resource.has_metadata:
            members.append((resource.metadata_member, "text/xml", "METADATA"))
        for member, mime_type, group in members:
            record = records.get(member)
            if record is None:
                raise HoldingAreaError(f"{course.course_id}: {member!r} was never fetched; run the fetch step again")
            path = holding.member_path(course.course_id, member)
            try:
                size = path.lstat().st_size
            except FileNotFoundError:
                raise HoldingAreaError(f"{course.course_id}: {member!r} is missing from the holding area") from None
            if size != record.size:
                raise HoldingAreaError(f"{course.course_id}: {member!r} changed size since it was fetched")
            files.append(SipFile(member, path, record, mime_type, group))
    return files


def build_sip(
    holding: HoldingArea, course_id: str, *, descriptive: DescriptiveFormat = "dim", created: dt.datetime | None = None
) -> SipResult:
    """Build the course's METS SIP zip in the holding area (temp name, fsync, rename) and return its MD5."""
    loaded = holding.load_manifest(course_id)
    if loaded is None:
        raise HoldingAreaError(f"{course_id}: nothing fetched into the holding area yet (no manifest)")
    course, records = loaded
    files = sip_files(holding, course, records)
    created = created or dt.datetime.now(dt.UTC)
    mets = build_mets(course, files, descriptive=descriptive, created=created)
    target = holding.package_path(course_id)
    with atomic_writer(target) as handle:
        writer = StreamingZipWriter(handle)
        writer.add_bytes("mets.xml", mets, modified=created)
        for sip_file in files:
            # The CRC from the manifest is trusted only while the file's mtime is unchanged; it is verified anyway.
            same = sip_file.path.stat().st_mtime_ns == sip_file.record.mtime_ns
            writer.add_file(sip_file.member, sip_file.path, crc32=sip_file.record.crc32 if same else None)
        md5, size = writer.close()
    return SipResult(str(target), md5, size, len(files) + 1)
