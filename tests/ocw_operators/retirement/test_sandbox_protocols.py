"""The sandbox DSpace SWORD endpoints and CMS answer as the real systems do."""

import hashlib
import io
import zipfile

import pytest
import requests

from tests.ocw_operators.retirement.sandbox_env import CMS_PASSWORD, CMS_USER, COURSES, SWORD_PASSWORD, SWORD_USER

V1_PACKAGING = "http://purl.org/net/sword-types/METSDSpaceSIP"
V2_PACKAGING = "http://purl.org/net/sword/package/METSDSpaceSIP"
METS = """<?xml version="1.0" encoding="UTF-8"?>
<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" PROFILE="{profile}">
 <dmdSec ID="d"><mdWrap MDTYPE="OTHER" OTHERMDTYPE="DIM"><xmlData>
  <dim:dim xmlns:dim="http://www.dspace.org/xmlns/dspace/dim">
   <dim:field mdschema="dc" element="title">Sandbox Course</dim:field>
   <dim:field mdschema="dc" element="identifier" qualifier="uri">https://ocw.example.edu/c/1</dim:field>
  </dim:dim></xmlData></mdWrap></dmdSec>
 <fileSec><fileGrp USE="CONTENT"><file ID="f1" CHECKSUM="{md5}" CHECKSUMTYPE="MD5">
  <FLocat LOCTYPE="URL" xlink:href="content/a.pdf"/></file></fileGrp></fileSec>
</mets>"""


def make_zip(*, profile="DSpace METS SIP Profile 1.0", members=None, mets=True) -> bytes:
    payload = b"%PDF sandbox"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if mets:
            archive.writestr("mets.xml", METS.format(profile=profile, md5=hashlib.md5(payload).hexdigest()))
        archive.writestr("content/a.pdf", payload)
        for name, data in (members or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def v1_headers(body: bytes, **overrides) -> dict:
    headers = {
        "Content-Type": "application/zip",
        "Content-Disposition": "filename=course.zip",
        "X-Packaging": V1_PACKAGING,
        "X-Verbose": "true",
        "X-No-Op": "false",
        "Content-MD5": hashlib.md5(body).hexdigest(),
    }
    headers.update(overrides)
    return {key: value for key, value in headers.items() if value is not None}


def post_v1(sandbox, body, *, auth=(SWORD_USER, SWORD_PASSWORD), collection="1721.1/33971", **headers):
    return requests.post(f"{sandbox.dspace_url}/sword/deposit/{collection}", data=body, auth=auth,
                         headers=v1_headers(body, **headers), timeout=10)  # fmt: skip


def sword_error_uri(response) -> str:
    from lxml import etree

    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == "error"
    assert root.findtext("{http://www.w3.org/2005/Atom}summary")
    return root.get("href")


def test_v1_deposit_creates_an_item_and_answers_201_with_the_handle(sandbox):
    response = post_v1(sandbox, make_zip())
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    item = sandbox.store.items()[0]
    assert item.dublin_core["title"] == ["Sandbox Course"] and item.collection_handle == "1721.1/33971"
    assert f"<atom:id>http://hdl.handle.net/{item.handle}</atom:id>" in response.text
    assert 'rel="alternate"' in response.text and "/sword/media-link/" in response.headers["Location"]


def test_missing_or_wrong_credentials_get_401_with_basic_challenge(sandbox):
    for auth in (None, (SWORD_USER, "wrong")):
        response = post_v1(sandbox, make_zip(), auth=auth)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="SWORD"'
    assert sandbox.store.items() == []


@pytest.mark.parametrize(
    ("headers", "status", "uri_end"),
    [
        ({"Content-MD5": "0" * 32}, 412, "ErrorChecksumMismatch"),
        ({"Content-Type": "application/octet-stream"}, 415, "ErrorContent"),
        ({"X-Packaging": "http://purl.org/net/sword-types/bagit"}, 415, "ErrorContent"),
        ({"X-Verbose": "maybe"}, 400, "ErrorBadRequest"),
    ],
)
def test_header_validation_answers_sword_errors(sandbox, headers, status, uri_end):
    response = post_v1(sandbox, make_zip(), **headers)
    assert response.status_code == status
    assert sword_error_uri(response).endswith(uri_end)
    assert sandbox.store.items() == []


def test_max_upload_size_gives_413(sandbox):
    sandbox.sword.max_upload_size = 100
    response = post_v1(sandbox, make_zip())
    assert response.status_code == 413 and sword_error_uri(response).endswith("MAX_UPLOAD_SIZE_EXCEEDED")


@pytest.mark.parametrize(
    ("body", "uri_end"),
    [
        (b"not a zip", "UnpackageFail"),
        (make_zip(mets=False), "PackageValidationError"),
        (make_zip(profile="Some Other Profile"), "PackageValidationError"),
        (make_zip(members={"../escape.txt": b"x"}), "UnpackageFail"),
    ],
    ids=["not-zip", "no-mets", "bad-profile", "zip-slip"],
)
def test_bad_packages_are_refused(sandbox, body, uri_end):
    response = post_v1(sandbox, body)
    assert response.status_code == 400 and sword_error_uri(response).endswith(uri_end)
    assert sandbox.store.items() == []


def test_unknown_collection_is_bad_url(sandbox):
    response = post_v1(sandbox, make_zip(), collection="1721.1/99999")
    assert response.status_code == 400 and sword_error_uri(response).endswith("BadUrl")


def test_workflow_mode_answers_202_without_handle_until_the_workflow_finishes(sandbox):
    sandbox.sword.workflow = True
    response = post_v1(sandbox, make_zip())
    assert response.status_code == 202 and "hdl.handle.net" not in response.text
    (item,) = sandbox.store.items()
    assert item.in_workflow
    sandbox.store.touch(item.handle, in_workflow=False)
    assert not sandbox.store.get(item.handle).in_workflow


def test_v2_deposit_location_is_the_edit_iri_and_handle_only_in_alternate(sandbox):
    body = make_zip()
    headers = {
        "Content-Type": "application/zip",
        "Packaging": V2_PACKAGING,
        "In-Progress": "false",
        "Content-MD5": hashlib.md5(body).hexdigest(),
        "Content-Disposition": "attachment; filename=c.zip",
    }
    url = f"{sandbox.dspace_url}/swordv2/collection/1721.1/33971"
    sandbox.sword.workflow = True
    response = requests.post(url, data=body, headers=headers, auth=(SWORD_USER, SWORD_PASSWORD), timeout=10)
    assert response.status_code == 201
    edit_iri = response.headers["Location"]
    assert f"<atom:id>{edit_iri}</atom:id>" in response.text and 'rel="alternate"' not in response.text
    sandbox.store.touch(sandbox.store.items()[0].handle, in_workflow=False)
    later = requests.get(edit_iri, auth=(SWORD_USER, SWORD_PASSWORD), timeout=10)
    assert later.status_code == 200 and 'rel="alternate"' in later.text
    missing = requests.post(
        url, data=body, auth=(SWORD_USER, SWORD_PASSWORD), timeout=10, headers={**headers, "Content-Disposition": ""}
    )
    assert missing.status_code == 400 and sword_error_uri(missing).endswith("ErrorBadRequest")


# -- CMS -----------------------------------------------------------------------------------------------


def test_cms_requires_credentials_by_query_form_or_basic(sandbox):
    course = COURSES[0]
    url = f"{sandbox.cms_url}/courses/{course}/set_dspace_handle"
    assert requests.get(url, params={"dspace_handle": "hdl://1721.1/1"}, timeout=5).status_code == 401
    query = {"__ac_name": CMS_USER, "__ac_password": CMS_PASSWORD, "dspace_handle": "hdl://1721.1/77167"}
    assert requests.get(url, params=query, timeout=5).status_code == 200
    assert requests.post(url, data={**query, "dspace_handle": "hdl://1721.1/2"}, timeout=5).status_code == 200
    basic = requests.post(url, params={"dspace_handle": "hdl://1721.1/3"}, auth=(CMS_USER, CMS_PASSWORD), timeout=5)
    assert basic.status_code == 200
    assert [value for _, value in sandbox.cms.handle_calls] == [
        "hdl://1721.1/77167",
        "hdl://1721.1/2",
        "hdl://1721.1/3",
    ]
    bad = requests.post(url, data={**query, "dspace_handle": "1721.1/3"}, timeout=5)
    assert bad.status_code == 400
    assert course not in sandbox.cms.queue


def test_cms_lists_queue_and_streams_generated_courses(sandbox):
    from ocw_sandbox.cms import generated_course

    course = generated_course("physics/8-02-generated", 5 * 1024 * 1024 + 3, file_bytes=2 * 1024 * 1024)
    sandbox.cms.courses[course.course_id] = course
    auth = (CMS_USER, CMS_PASSWORD)
    queue = requests.get(f"{sandbox.cms_url}/retirement_queue", auth=auth, timeout=5).json()
    assert [entry["course_id"] for entry in queue["courses"]] == COURSES[:2]
    listing = requests.get(f"{sandbox.cms_url}/courses/{course.course_id}/resources.json", auth=auth, timeout=5).json()
    assert sum(resource["size"] for resource in listing["resources"]) == 5 * 1024 * 1024 + 3
    first = listing["resources"][0]
    data = requests.get(f"{sandbox.cms_url}/courses/{course.course_id}/files/{first['name']}", auth=auth, timeout=5)
    assert hashlib.md5(data.content).hexdigest() == first["md5"]


def test_the_spool_directory_is_created_when_missing(tmp_path):
    from ocw_sandbox.dspace import make_dspace_app
    from ocw_sandbox.dspace_store import DSpaceStore

    spool = tmp_path / "not" / "yet" / "there"
    make_dspace_app(DSpaceStore(), username="u", password="p", spool_dir=spool)
    assert spool.is_dir()
