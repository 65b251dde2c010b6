"""OaiClient against the sandbox: paging, noRecordsMatch, 503 Retry-After, token errors, limits."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest

from ocw_operators.clients.dspace_oai import OaiClientSettings, OaiHttpError, OaiUnavailable
from ocw_operators.http_support import ResponseTooLarge, redact_url, retry_after_seconds
from ocw_operators.oai.protocol import BadResumptionToken, IdDoesNotExist
from ocw_operators.safe_xml import UnsafeXmlError
from ocw_sandbox.oai import oai_error_body
from tests.ocw_operators.oai.support import OCW_SET, add_courses


def test_list_follows_resumption_tokens_until_the_empty_token(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 250)
    pages = list(oai_sandbox.client().list_pages(set_spec=OCW_SET))
    assert [len(page.records) for page in pages] == [100, 100, 50]
    assert [page.cursor for page in pages] == [0, 100, 200]
    assert {page.complete_list_size for page in pages} == {250}
    assert pages[-1].is_last and not pages[0].is_last
    handles = [record.handle for page in pages for record in page.records]
    assert len(set(handles)) == 250


def test_list_resumes_from_a_stored_token(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 150)
    pages = list(oai_sandbox.client().list_pages(resumption_token="oai_dc////100"))
    assert len(pages) == 1 and pages[0].records[0].handle == "1721.1/100101"


def test_no_records_match_is_one_empty_last_page(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 3)
    pages = list(oai_sandbox.client().list_pages(from_="2030-01-01T00:00:00Z"))
    assert len(pages) == 1 and pages[0].records == [] and pages[0].is_last


def test_503_with_retry_after_seconds_is_waited_out(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 3)
    oai_sandbox.fault("status", status=503, headers={"Retry-After": "12"}, times=2)
    sleeps: list[float] = []
    pages = list(oai_sandbox.client(sleeps).list_pages())
    assert sleeps == [12.0, 12.0]
    assert len(pages[0].records) == 3


def test_503_with_retry_after_http_date_is_waited_out(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 3)
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    oai_sandbox.fault("status", status=503, headers={"Retry-After": when})
    sleeps: list[float] = []
    assert len(oai_sandbox.client(sleeps).identify().repository_name) > 0
    assert len(sleeps) == 1 and 20 <= sleeps[0] <= 31


def test_503_mid_list_is_retried_and_the_list_continues(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 250)
    sleeps: list[float] = []
    pages = oai_sandbox.client(sleeps).list_pages()
    first = next(pages)
    oai_sandbox.fault("status", status=503, headers={"Retry-After": "1"})
    rest = list(pages)
    assert sleeps == [1.0]
    assert len(first.records) + sum(len(page.records) for page in rest) == 250


def test_503_beyond_the_retry_budget_is_a_clear_error(oai_sandbox):
    oai_sandbox.fault("status", status=503, headers={"Retry-After": "1"}, times=10)
    sleeps: list[float] = []
    with pytest.raises(OaiUnavailable, match="after 2 retries"):
        oai_sandbox.client(sleeps, max_503_retries=2).identify()
    assert sleeps == [1.0, 1.0]


def test_a_retry_after_longer_than_allowed_fails_instead_of_sleeping(oai_sandbox):
    oai_sandbox.fault("status", status=503, headers={"Retry-After": "86400"})
    sleeps: list[float] = []
    with pytest.raises(OaiUnavailable, match="86400"):
        oai_sandbox.client(sleeps, max_retry_after=600).identify()
    assert sleeps == []


def test_503_without_retry_after_waits_the_default(oai_sandbox):
    oai_sandbox.fault("status", status=503)
    sleeps: list[float] = []
    oai_sandbox.client(sleeps, default_retry_after=4).identify()
    assert sleeps == [4.0]


def test_other_http_errors_are_not_retried(oai_sandbox):
    oai_sandbox.fault("status", status=500, body="boom")
    with pytest.raises(OaiHttpError, match="HTTP 500: boom"):
        oai_sandbox.client().identify()


def test_bad_resumption_token_mid_list_is_raised(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 250)
    pages = oai_sandbox.client().list_pages()
    next(pages)
    oai_sandbox.fault(
        "status", status=200, body=oai_error_body("badResumptionToken"), headers={"Content-Type": "text/xml"}
    )
    with pytest.raises(BadResumptionToken):
        next(pages)


def test_get_record_of_an_unknown_item(oai_sandbox):
    with pytest.raises(IdDoesNotExist):
        oai_sandbox.client().get_record("oai:dspace.sandbox.test:1721.1/1")


def test_an_entity_bearing_response_is_refused(oai_sandbox):
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"/>'
    oai_sandbox.fault("status", status=200, body=bomb)
    with pytest.raises(UnsafeXmlError):
        oai_sandbox.client().identify()


def test_an_oversized_response_is_refused(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 100)
    with pytest.raises(ResponseTooLarge):
        list(oai_sandbox.client(max_response_bytes=4096).list_pages())


def test_a_hanging_server_times_out(oai_sandbox):
    import requests

    oai_sandbox.fault("hang", seconds=5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        oai_sandbox.client(read_timeout=0.3).identify()


def test_post_requests_work_too(oai_sandbox):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 120)
    pages = list(oai_sandbox.client(http_method="POST").list_pages("ListIdentifiers"))
    assert sum(len(page.records) for page in pages) == 120


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("", None), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_values(header, expected):
    assert retry_after_seconds(header) == expected


@pytest.mark.parametrize("url", ["ftp://x/oai", "https://h/oai/request?verb=Identify", "not a url", "https:///oai"])
def test_base_urls_are_validated(url):
    with pytest.raises(ValueError):
        OaiClientSettings(base_url=url)


def test_credentials_never_appear_in_messages():
    assert (
        redact_url("https://user:s3cret@dspace.mit.edu:8443/oai/request") == "https://dspace.mit.edu:8443/oai/request"
    )
    with pytest.raises(ValueError) as caught:
        OaiClientSettings(base_url="ftp://user:s3cret@host/oai")
    assert "s3cret" not in str(caught.value)


def test_requests_name_the_harvester_unless_the_connection_chose_a_user_agent():
    import requests

    from ocw_operators.clients.dspace_oai import OaiClient

    settings = OaiClientSettings(base_url="http://127.0.0.1:9/oai/request")
    assert OaiClient(settings, requests.Session()).session.headers["User-Agent"] == settings.user_agent
    chosen = requests.Session()
    chosen.headers["User-Agent"] = "library-harvester/2"
    assert OaiClient(settings, chosen).session.headers["User-Agent"] == "library-harvester/2"
