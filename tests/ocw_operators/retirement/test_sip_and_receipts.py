import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from ocw_operators.clients.dspace_sword import (
    SwordDepositError,
    SwordOutcomeUnknownError,
    handle_from_url,
    hdl_uri,
    parse_error_document,
    parse_receipt,
)
from ocw_operators.retirement.collection_map import CollectionMap, CollectionMapError
from ocw_operators.retirement.course import Course, Resource
from ocw_operators.retirement.holding import FileRecord, HoldingArea, file_checksums
from ocw_operators.retirement.sip import METS_PROFILE, build_sip
from ocw_operators.safe_xml import UnsafeXmlError

COURSE_ID = "history/21h-126-america-in-depression-and-war-spring-2003"
NS = {"m": "http://www.loc.gov/METS/", "dim": "http://www.dspace.org/xmlns/dspace/dim",
      "mods": "http://www.loc.gov/mods/v3", "xlink": "http://www.w3.org/1999/xlink"}  # fmt: skip


def _holding_with_course(tmp_path) -> HoldingArea:
    holding = HoldingArea(tmp_path / "holding")
    resources = (Resource("lecture-notes/lec01.pdf", 0, None, "application/pdf"),
                 Resource("video/intro.mp4", 0, None, "video/mp4", has_metadata=False))  # fmt: skip
    files = {}
    for resource, payload in zip(resources, [b"%PDF-1.4 lecture" * 100, b"\x00\x01video" * 5000], strict=True):
        for member, data in [(resource.content_member, payload), (resource.metadata_member, b"<resource/>")]:
            if member.startswith("metadata/") and not resource.has_metadata:
                continue
            path = holding.member_path(COURSE_ID, member)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            md5, crc = file_checksums(path)
            files[member] = FileRecord(len(data), md5, crc, path.stat().st_mtime_ns)
    course = Course(COURSE_ID, "America in Depression & War", "21H.126", "Spring 2003", "History",
                    "https://ocw.example.edu/courses/history/21h-126/", resources)  # fmt: skip
    holding.write_manifest(course, files)
    return holding


@pytest.mark.parametrize("descriptive", ["dim", "mods"])
def test_sip_has_mets_at_the_root_with_profile_metadata_and_checksums(tmp_path, descriptive):
    holding = _holding_with_course(tmp_path)
    sip = build_sip(holding, COURSE_ID, descriptive=descriptive, created=dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    with zipfile.ZipFile(sip.path) as archive:
        names = archive.namelist()
        assert names[0] == "mets.xml"
        assert set(names) == {"mets.xml", "content/lecture-notes/lec01.pdf", "metadata/lecture-notes/lec01.pdf.xml",
                              "content/video/intro.mp4"}  # fmt: skip
        mets = etree.fromstring(archive.read("mets.xml"))
        assert mets.get("PROFILE") == METS_PROFILE
        for file_element in mets.iterfind(".//m:file", NS):
            href = file_element.find("m:FLocat", NS).get(f"{{{NS['xlink']}}}href")
            assert file_element.get("CHECKSUM") == hashlib.md5(archive.read(href)).hexdigest()
            assert int(file_element.get("SIZE")) == archive.getinfo(href).file_size
    if descriptive == "dim":
        fields = {(f.get("element"), f.get("qualifier")): f.text for f in mets.iterfind(".//dim:field", NS)}
        assert fields[("title", None)] == "America in Depression & War"
        assert fields[("identifier", "uri")] == "https://ocw.example.edu/courses/history/21h-126/"
        assert fields[("identifier", "other")] == "21H.126"
        assert fields[("coverage", "temporal")] == "Spring 2003"
        assert fields[("contributor", "department")] == "History"
    else:
        assert mets.findtext(".//mods:titleInfo/mods:title", namespaces=NS) == "America in Depression & War"
        assert mets.findtext(".//mods:identifier[@type='uri']", namespaces=NS).startswith("https://ocw.example.edu")
        assert mets.findtext(".//mods:identifier[@type='local']", namespaces=NS) == "21H.126"
        assert mets.findtext(".//mods:dateOther", namespaces=NS) == "Spring 2003"
        assert mets.findtext(".//mods:namePart", namespaces=NS) == "History"
    assert sip.md5 == hashlib.md5(Path(sip.path).read_bytes()).hexdigest()
    # No temporary files are left next to the package.
    assert [p.name for p in holding.package_path(COURSE_ID).parent.iterdir()] == [holding.package_path(COURSE_ID).name]


def test_a_file_changed_after_fetch_stops_packaging(tmp_path):
    holding = _holding_with_course(tmp_path)
    holding.member_path(COURSE_ID, "content/video/intro.mp4").write_bytes(b"truncated")
    with pytest.raises(Exception, match="changed size"):
        build_sip(holding, COURSE_ID)


V1_RECEIPT = b"""<?xml version="1.0" encoding="UTF-8"?>
<atom:entry xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sword="http://purl.org/net/sword/">
  <atom:id>http://hdl.handle.net/1721.1/77167</atom:id>
  <atom:title>America in Depression and War</atom:title>
  <atom:link rel="alternate" type="text/html" href="http://hdl.handle.net/1721.1/77167"/>
  <sword:packaging>http://purl.org/net/sword-types/METSDSpaceSIP</sword:packaging>
</atom:entry>"""
V1_WORKFLOW = (
    b"""<atom:entry xmlns:atom="http://www.w3.org/2005/Atom"><atom:id>https://dspace.mit.edu/</atom:id></atom:entry>"""
)
V2_RECEIPT = b"""<entry xmlns="http://www.w3.org/2005/Atom">
  <id>https://dspace.mit.edu/swordv2/edit/5f1c</id>
  <link rel="edit" href="https://dspace.mit.edu/swordv2/edit/5f1c"/>
  <link rel="alternate" href="https://hdl.handle.net/1721.1/12345"/>
</entry>"""
V2_WORKFLOW = b"""<entry xmlns="http://www.w3.org/2005/Atom">
  <id>https://dspace.mit.edu/swordv2/edit/5f1c</id><link rel="edit" href="https://dspace.mit.edu/swordv2/edit/5f1c"/>
</entry>"""


def test_v1_receipt_handle_from_atom_id_and_alternate_link():
    receipt = parse_receipt(V1_RECEIPT, 201, location="https://dspace.mit.edu/sword/media-link/1721.1/77167/x")
    assert receipt.handle == "1721.1/77167" and not receipt.in_workflow
    assert hdl_uri(receipt.handle) == "hdl://1721.1/77167"


def test_202_without_handle_is_accepted_into_workflow():
    receipt = parse_receipt(V1_WORKFLOW, 202, location=None)
    assert receipt.handle is None and receipt.in_workflow


def test_v2_receipt_handle_only_from_alternate_and_edit_iri_kept():
    receipt = parse_receipt(V2_RECEIPT, 201, location="https://dspace.mit.edu/swordv2/edit/5f1c")
    assert receipt.handle == "1721.1/12345"
    assert receipt.edit_iri == "https://dspace.mit.edu/swordv2/edit/5f1c"
    pending = parse_receipt(V2_WORKFLOW, 201, location=None)
    assert pending.in_workflow and pending.edit_iri.endswith("/edit/5f1c")


@pytest.mark.parametrize(
    ("namespace", "uri"),
    [("http://purl.org/net/sword/", "http://purl.org/net/sword/error/ErrorChecksumMismatch"),
     ("http://purl.org/net/sword/terms/", "http://purl.org/net/sword/error/MaxUploadSizeExceeded")],
)  # fmt: skip
def test_sword_error_documents_become_errors_naming_uri_and_summary(namespace, uri):
    body = f"""<sword:error xmlns:sword="{namespace}" xmlns:atom="http://www.w3.org/2005/Atom" href="{uri}">
      <atom:title>ERROR</atom:title><atom:summary>Received file does not have the same checksum</atom:summary>
    </sword:error>""".encode()
    error = parse_error_document(body, 412, collection="1721.1/33971")
    assert isinstance(error, SwordDepositError) and error.definitive
    assert uri in str(error) and "same checksum" in str(error) and "HTTP 412" in str(error)


def test_plain_error_pages_and_unreadable_receipts():
    error = parse_error_document(b"<html><body>Internal Server Error</body>", 500, collection="1721.1/1")
    assert "HTTP 500" in str(error)
    with pytest.raises(UnsafeXmlError):
        parse_receipt(b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>', 201, location=None)
    with pytest.raises(SwordOutcomeUnknownError):
        parse_receipt(b"<feed xmlns='http://www.w3.org/2005/Atom'/>", 201, location=None)


def test_handle_from_url_forms():
    assert handle_from_url("https://dspace.mit.edu/handle/1721.1/102062") == "1721.1/102062"
    assert handle_from_url("https://hdl.handle.net/1721.1/46828?x=1") == "1721.1/46828"
    assert handle_from_url("https://dspace.mit.edu/") is None


def test_collection_map_from_dict_json_and_xml(tmp_path):
    mapping = CollectionMap({"History": "1721.1/33971"})
    assert mapping.collection_for("history") == "1721.1/33971"
    with pytest.raises(CollectionMapError, match="no DSpace collection is configured for department 'physics'"):
        mapping.collection_for("physics")
    (tmp_path / "map.json").write_text(json.dumps({"physics": "1721.1/33972"}))
    assert CollectionMap.from_file(tmp_path / "map.json").collection_for("Physics") == "1721.1/33972"
    (tmp_path / "DepositURILookup.xml").write_text(
        '<lookup><entry department="history" deposit_uri="https://dspace.mit.edu/sword/deposit/1721.1/33971"/>'
        '<entry department="physics" collection="1721.1/33972"/></lookup>'
    )
    xml_map = CollectionMap.from_file(tmp_path / "DepositURILookup.xml")
    assert xml_map.collection_for("history") == "1721.1/33971" and len(xml_map) == 2
    with pytest.raises(CollectionMapError):
        CollectionMap({"history": "not a handle"})
    with pytest.raises(CollectionMapError, match="cannot read"):
        CollectionMap.from_file(tmp_path / "missing.json")
