"""The sandbox OAI-PMH endpoint on the wire (checked with plain requests + lxml, not the project's client)."""

from __future__ import annotations

import pytest
import requests
from lxml import etree

from ocw_sandbox.oai import oai_error_body
from tests.ocw_operators.oai.support import OCW_SET, add_courses, start_oai_sandbox

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}


@pytest.fixture
def sandbox(sandbox_runtime):
    return start_oai_sandbox(sandbox_runtime, page_size=10)


def get(sandbox, method="GET", **params) -> etree._Element:
    if method == "POST":
        response = requests.post(sandbox.base_url, data=params, timeout=5)
    else:
        response = requests.get(sandbox.base_url, params=params, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    return etree.fromstring(response.content)


def error_code(root: etree._Element) -> str | None:
    error = root.find("o:error", NS)
    return None if error is None else error.get("code")


def test_identify_announces_dspace_granularity_and_transient_deletion(sandbox):
    add_courses(sandbox.store, sandbox.clock, 1)
    identify = get(sandbox, verb="Identify").find("o:Identify", NS)
    assert identify.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.findtext("o:deletedRecord", namespaces=NS) == "transient"
    assert identify.findtext("o:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("o:earliestDatestamp", namespaces=NS) == "2026-03-01T00:00:00Z"
    assert identify.findtext("o:baseURL", namespaces=NS) == sandbox.base_url


def test_list_records_pages_with_stateless_tokens_and_an_empty_last_token(sandbox):
    add_courses(sandbox.store, sandbox.clock, 25)
    first = get(sandbox, verb="ListRecords", metadataPrefix="oai_dc", set=OCW_SET)
    token = first.find(".//o:resumptionToken", NS)
    assert (token.text, token.get("cursor"), token.get("completeListSize")) == (f"oai_dc///{OCW_SET}/10", "0", "25")
    assert len(first.findall(".//o:record", NS)) == 10
    second = get(sandbox, verb="ListRecords", resumptionToken=token.text)
    assert second.find(".//o:resumptionToken", NS).text == f"oai_dc///{OCW_SET}/20"
    last = get(sandbox, verb="ListRecords", resumptionToken=f"oai_dc///{OCW_SET}/20")
    last_token = last.find(".//o:resumptionToken", NS)
    assert last_token.text is None and last_token.get("cursor") == "20" and last_token.get("completeListSize") == "25"
    identifiers = [h.findtext("o:identifier", namespaces=NS) for h in last.iterfind(".//o:header", NS)]
    assert identifiers == [f"oai:dspace.sandbox.test:1721.1/{100001 + n}" for n in range(20, 25)]


def test_record_carries_sets_datestamp_and_dublin_core(sandbox):
    add_courses(sandbox.store, sandbox.clock, 1)
    record = get(sandbox, verb="GetRecord", metadataPrefix="oai_dc", identifier="oai:dspace.sandbox.test:1721.1/100001")
    header = record.find(".//o:header", NS)
    assert [s.text for s in header.iterfind("o:setSpec", NS)] == ["com_1721.1_1", OCW_SET]
    assert header.findtext("o:datestamp", namespaces=NS) == "2026-03-01T00:00:00Z"
    assert record.findtext(".//dc:title", namespaces=NS) == "Course 0"
    assert [e.text for e in record.iterfind(".//dc:identifier", NS)] == [
        "https://ocw.mit.edu/courses/course-0/",
        "https://hdl.handle.net/1721.1/100001",
    ]


def test_from_until_and_set_filters(sandbox):
    add_courses(sandbox.store, sandbox.clock, 5)  # 00:00:00 .. 00:00:04
    add_courses(sandbox.store, sandbox.clock, 3, first=5, collection="1721.1/40000")  # 00:00:05 .. 00:00:07
    window = get(
        sandbox, verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2026-03-01T00:00:02Z"},
        until="2026-03-01T00:00:05Z",
    )  # fmt: skip
    assert len(window.findall(".//o:header", NS)) == 4
    assert len(get(sandbox, verb="ListIdentifiers", metadataPrefix="oai_dc", set="col_1721.1_40000").findall(
        ".//o:header", NS)) == 3  # fmt: skip
    assert len(get(sandbox, verb="ListIdentifiers", metadataPrefix="oai_dc", set="com_1721.1_1").findall(
        ".//o:header", NS)) == 8  # fmt: skip
    day = get(sandbox, verb="ListIdentifiers", metadataPrefix="oai_dc", until="2026-03-01")
    assert len(day.findall(".//o:header", NS)) == 8  # a day-granular until covers the whole day


def test_no_records_match_for_an_empty_window_and_an_unknown_set(sandbox):
    add_courses(sandbox.store, sandbox.clock, 2)
    assert error_code(get(sandbox, verb="ListRecords", metadataPrefix="oai_dc", **{"from": "2027-01-01"})) == (
        "noRecordsMatch"
    )
    assert error_code(get(sandbox, verb="ListRecords", metadataPrefix="oai_dc", set="col_9_9")) == "noRecordsMatch"


@pytest.mark.parametrize(
    "token", ["garbage", "oai_dc/x", "oai_dc////x", "oai_dc/2026-13-45/// 0", "oai_dc////500", "mods////10"]
)
def test_malformed_or_exhausted_tokens_are_bad_resumption_tokens(sandbox, token):
    add_courses(sandbox.store, sandbox.clock, 25)
    expected = "cannotDisseminateFormat" if token.startswith("mods") else "badResumptionToken"
    assert error_code(get(sandbox, verb="ListRecords", resumptionToken=token)) == expected


def test_protocol_argument_errors(sandbox):
    assert error_code(get(sandbox, verb="Nonsense")) == "badVerb"
    assert error_code(get(sandbox)) == "badVerb"
    assert error_code(get(sandbox, verb="ListRecords")) == "badArgument"  # metadataPrefix missing
    assert error_code(get(sandbox, verb="ListRecords", metadataPrefix="oai_dc", resumptionToken="oai_dc////10")) == (
        "badArgument"  # the token is exclusive
    )
    assert error_code(get(sandbox, verb="ListRecords", metadataPrefix="oai_dc", **{"from": "yesterday"})) == (
        "badArgument"
    )
    assert error_code(get(sandbox, verb="ListRecords", metadataPrefix="mods")) == "cannotDisseminateFormat"
    assert error_code(get(sandbox, verb="GetRecord", metadataPrefix="oai_dc", identifier="oai:x:1/2")) == (
        "idDoesNotExist"
    )


def test_withdrawn_items_are_deleted_headers_workflow_items_hidden_expunged_items_gone(sandbox):
    items = add_courses(sandbox.store, sandbox.clock, 3)
    sandbox.store.touch(items[0].handle, withdrawn=True)
    sandbox.store.expunge(items[1].handle)
    add_courses(sandbox.store, sandbox.clock, 1, first=9, in_workflow=True)
    root = get(sandbox, verb="ListRecords", metadataPrefix="oai_dc")
    headers = {h.findtext("o:identifier", namespaces=NS).rsplit(":", 1)[1]: h for h in root.iterfind(".//o:header", NS)}
    assert sorted(headers) == [items[0].handle, items[2].handle]
    assert headers[items[0].handle].get("status") == "deleted"
    deleted_record = headers[items[0].handle].getparent()
    assert deleted_record.find("o:metadata", NS) is None, "deleted records carry no metadata"


def test_post_is_answered_like_get(sandbox):
    add_courses(sandbox.store, sandbox.clock, 12)
    assert len(get(sandbox, "POST", verb="ListIdentifiers", metadataPrefix="oai_dc").findall(".//o:header", NS)) == 10


def test_manual_index_shows_a_withdrawal_only_after_oai_import(sandbox_runtime):
    sandbox = start_oai_sandbox(sandbox_runtime, auto_import=False)
    items = add_courses(sandbox.store, sandbox.clock, 2)
    sandbox.reindex()
    sandbox.store.touch(items[0].handle, withdrawn=True)
    before = get(
        sandbox, verb="GetRecord", metadataPrefix="oai_dc", identifier=f"oai:dspace.sandbox.test:{items[0].handle}"
    )
    assert before.find(".//o:header", NS).get("status") is None
    requests.post(f"{sandbox.root_url}/_sandbox/oai/import", timeout=5).raise_for_status()
    after = get(
        sandbox, verb="GetRecord", metadataPrefix="oai_dc", identifier=f"oai:dspace.sandbox.test:{items[0].handle}"
    )
    assert after.find(".//o:header", NS).get("status") == "deleted"


def test_hostile_metadata_is_escaped_into_well_formed_xml(sandbox):
    sandbox.store.create(
        "1721.1/33971", {"title": ['<script>&amp; "x" \x00\x1b'], "identifier.uri": ["https://x/?a=1&b=2"]}
    )
    root = get(sandbox, verb="ListRecords", metadataPrefix="oai_dc")
    assert root.findtext(".//dc:title", namespaces=NS) == '<script>&amp; "x" '


def test_faults_answer_503_with_retry_after_and_a_forced_bad_resumption_token(sandbox):
    add_courses(sandbox.store, sandbox.clock, 1)
    sandbox.fault("status", status=503, headers={"Retry-After": "7"})
    response = requests.get(sandbox.base_url, params={"verb": "Identify"}, timeout=5)
    assert (response.status_code, response.headers["Retry-After"]) == (503, "7")
    sandbox.fault("status", status=200, body=oai_error_body("badResumptionToken"), headers={"Content-Type": "text/xml"})
    assert error_code(get(sandbox, verb="ListRecords", resumptionToken="oai_dc////0")) == "badResumptionToken"
    assert get(sandbox, verb="Identify").find("o:Identify", NS) is not None, "faults fire only as often as asked"


def test_list_sets_pages_like_the_other_lists(sandbox_runtime):
    import requests

    from ocw_operators.clients.dspace_oai import OaiClient, OaiClientSettings

    sandbox = start_oai_sandbox(sandbox_runtime, page_size=2, communities={"1721.1/1": ["1721.1/10", "1721.1/11"]})
    for collection in ("1721.1/10", "1721.1/11", "1721.1/12"):
        sandbox.store.create(collection, {"title": ["x"]})
    first = get(sandbox, verb="ListSets")
    assert first.find(".//o:resumptionToken", NS).text == "////2"
    specs = [s.spec for s in OaiClient(OaiClientSettings(base_url=sandbox.base_url), requests.Session()).list_sets()]
    assert specs == ["col_1721.1_10", "col_1721.1_11", "col_1721.1_12", "com_1721.1_1"]
