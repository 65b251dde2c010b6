"""Parsing OAI-PMH responses: records, tokens, errors, and hostile or broken XML."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from ocw_operators.oai.protocol import (
    BadResumptionToken,
    NoRecordsMatch,
    OaiError,
    OaiProtocolError,
    parse_identify_response,
    parse_list_response,
    pick_identifier_uri,
)
from ocw_operators.oai.records import (
    Granularity,
    OaiRecordError,
    format_datestamp,
    handle_from_identifier,
    inclusive_until,
    parse_datestamp,
    uri_key,
)
from ocw_operators.safe_xml import MalformedXmlError, UnsafeXmlError

HEAD = '<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
DC = 'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"'


def record(handle: str, *, deleted: bool = False, title: str = "T", uri: str = "https://ocw.mit.edu/c/") -> str:
    status = ' status="deleted"' if deleted else ""
    header = (
        f"<header{status}><identifier>oai:dspace.mit.edu:{handle}</identifier>"
        "<datestamp>2026-03-01T10:00:00Z</datestamp><setSpec>col_1721.1_33971</setSpec></header>"
    )
    if deleted:
        return f"<record>{header}</record>"
    return (
        f"<record>{header}<metadata><oai_dc:dc {DC}><dc:title>{title}</dc:title>"
        f"<dc:identifier>https://hdl.handle.net/{handle}</dc:identifier><dc:identifier>{uri}</dc:identifier>"
        "</oai_dc:dc></metadata></record>"
    )


def parse(body: str, verb: str = "ListRecords"):
    return parse_list_response(io.BytesIO(body.encode()), verb=verb)


def test_records_and_token_are_parsed():
    page = parse(
        HEAD + "<ListRecords>" + record("1721.1/1") + record("1721.1/2", deleted=True)
        + '<resumptionToken completeListSize="250" cursor="0">oai_dc////100</resumptionToken></ListRecords></OAI-PMH>'
    )  # fmt: skip
    first, second = page.records
    assert first.handle == "1721.1/1" and first.title == "T" and first.identifier_uri == "https://ocw.mit.edu/c/"
    assert first.datestamp == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC) and first.set_specs == ("col_1721.1_33971",)
    assert second.deleted and second.title is None and second.identifier_uri is None
    assert (page.resumption_token, page.complete_list_size, page.cursor, page.is_last) == (
        "oai_dc////100",
        250,
        0,
        False,
    )


@pytest.mark.parametrize(
    "token", ["<resumptionToken/>", '<resumptionToken cursor="100" completeListSize="101"> </resumptionToken>', ""]
)
def test_empty_or_absent_token_means_last_page(token):
    assert parse(HEAD + "<ListRecords>" + record("1721.1/1") + token + "</ListRecords></OAI-PMH>").is_last


def test_list_identifiers_headers_become_records():
    body = HEAD + "<ListIdentifiers>" + record("1721.1/7").split("<metadata>")[0].removeprefix("<record>")
    page = parse(body + "</ListIdentifiers></OAI-PMH>", verb="ListIdentifiers")
    assert [r.handle for r in page.records] == ["1721.1/7"]


@pytest.mark.parametrize(
    ("code", "exception"),
    [("noRecordsMatch", NoRecordsMatch), ("badResumptionToken", BadResumptionToken), ("somethingNew", OaiError)],
)
def test_oai_errors_become_typed_exceptions(code, exception):
    with pytest.raises(exception) as caught:
        parse(HEAD + f'<error code="{code}">explained</error></OAI-PMH>')
    assert caught.value.code == code and "explained" in str(caught.value)


def test_a_record_breaking_dspace_rules_is_rejected_not_stored():
    page = parse(HEAD + "<ListRecords>" + record("not-a-handle") + record("1721.1/2") + "</ListRecords></OAI-PMH>")
    assert [r.handle for r in page.records] == ["1721.1/2"]
    assert page.rejected and page.rejected[0][0] == "oai:dspace.mit.edu:not-a-handle"


ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><header>'
    "<identifier>oai:x:1721.1/1</identifier><datestamp>&lol2;</datestamp></header></record></ListRecords></OAI-PMH>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><Identify><repositoryName>&xxe;</repositoryName>'
    "</Identify></OAI-PMH>"
)
EXTERNAL_DTD = '<?xml version="1.0"?><!DOCTYPE OAI-PMH SYSTEM "http://127.0.0.1:9/x.dtd"><OAI-PMH/>'


@pytest.mark.parametrize("body", [ENTITY_BOMB, XXE, EXTERNAL_DTD], ids=["entity-bomb", "xxe", "external-dtd"])
def test_documents_with_a_dtd_or_entities_are_refused(body):
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        parse(body)


@pytest.mark.parametrize(
    "body",
    [HEAD + "<ListRecords>" + record("1721.1/1")[:60], "", "not xml at all", HEAD + "<ListRecords>&undefined;"],
    ids=["truncated", "empty", "garbage", "undefined-entity"],
)
def test_malformed_xml_is_a_clear_error(body):
    with pytest.raises(MalformedXmlError, match="ListRecords response"):
        parse(body)


def test_xml_that_is_not_oai_pmh_is_refused():
    with pytest.raises(OaiProtocolError, match="not <OAI-PMH>"):
        parse("<html><body>Service temporarily down</body></html>")


def test_identify_is_parsed_and_an_unknown_granularity_refused():
    body = (
        HEAD + "<Identify><repositoryName>DSpace@MIT</repositoryName><baseURL>https://d/oai/request</baseURL>"
        "<protocolVersion>2.0</protocolVersion><adminEmail>a@b</adminEmail>"
        "<earliestDatestamp>2001-01-01T00:00:00Z</earliestDatestamp><deletedRecord>transient</deletedRecord>"
        "<granularity>{}</granularity></Identify></OAI-PMH>"
    )
    info = parse_identify_response(io.BytesIO(body.format("YYYY-MM-DD").encode()))
    assert info.granularity is Granularity.DAY and info.deleted_record == "transient"
    with pytest.raises(OaiProtocolError, match="granularity"):
        parse_identify_response(io.BytesIO(body.format("hourly").encode()))


def test_identifier_uri_prefers_the_deposit_uri_over_the_items_own_handle_url():
    handle_url = "https://hdl.handle.net/1721.1/5"
    assert pick_identifier_uri([handle_url, "ISBN 1", "http://ocw.mit.edu/x"], "1721.1/5") == "http://ocw.mit.edu/x"
    assert pick_identifier_uri([handle_url], "1721.1/5") == handle_url
    assert pick_identifier_uri(["urn:x"], "1721.1/5") is None


@pytest.mark.parametrize(
    ("identifier", "handle"),
    [("oai:dspace.mit.edu:1721.1/12345", "1721.1/12345"), ("oai:h:123456789/3", "123456789/3")],
)
def test_handles_come_from_dspace_identifiers(identifier, handle):
    assert handle_from_identifier(identifier) == handle


@pytest.mark.parametrize("identifier", ["", "1721.1/1", "oai:h:../../etc/passwd", "oai:h:1721.1/1;drop", "oai::1/2"])
def test_other_identifiers_are_refused(identifier):
    with pytest.raises(OaiRecordError):
        handle_from_identifier(identifier)


def test_datestamps_round_trip_at_both_granularities():
    moment = dt.datetime(2026, 3, 1, 23, 59, 58, tzinfo=dt.UTC)
    assert format_datestamp(moment, Granularity.SECOND) == "2026-03-01T23:59:58Z"
    assert format_datestamp(moment, Granularity.DAY) == "2026-03-01"
    assert parse_datestamp("2026-03-01") == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert format_datestamp(dt.datetime(2026, 3, 1, 21, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "YYYY-MM-DD") == (
        "2026-03-02"
    )
    with pytest.raises(OaiRecordError):
        parse_datestamp("2026-03-01 10:00")
    with pytest.raises(ValueError, match="aware"):
        format_datestamp(dt.datetime(2026, 3, 1), Granularity.SECOND)


def test_inclusive_until_closes_a_half_open_data_interval():
    end = dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC)
    assert inclusive_until(end, Granularity.SECOND) == dt.datetime(2026, 3, 2, 1, 59, 59, tzinfo=dt.UTC)
    assert format_datestamp(inclusive_until(end, Granularity.DAY), Granularity.DAY) == "2026-03-01"


def test_uri_keys_survive_scheme_www_and_trailing_slash_rewrites():
    assert (
        uri_key("http://www.OCW.mit.edu/courses/x/")
        == uri_key("https://ocw.mit.edu/courses/x")
        == ("ocw.mit.edu/courses/x")
    )
    assert uri_key("https://ocw.mit.edu/courses/x?y=1") != uri_key("https://ocw.mit.edu/courses/x")
    assert uri_key("  ") is None
