"""DSpaceOaiHook: Connection parsing (lazy, validated, credentials kept out of messages) and verbs."""

from __future__ import annotations

import functools

import pytest
from airflow.sdk.exceptions import AirflowException

from ocw_operators.hooks.dspace_oai import DSpaceOaiHook
from tests.connections import define_connection
from tests.ocw_operators.oai.support import OCW_SET, add_courses, start_oai_sandbox

set_connection = functools.partial(define_connection, conn_id="dspace_oai_default", conn_type="dspace_oai")


def test_the_connection_is_read_lazily(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DSPACE_OAI_DEFAULT", raising=False)
    hook = DSpaceOaiHook()  # constructing never touches the Connection
    with pytest.raises(Exception, match="dspace_oai_default"):
        hook.get_conn()


def test_base_url_from_a_full_url_or_from_host_scheme_port_and_path(monkeypatch):
    set_connection(monkeypatch, host="https://dspace.mit.edu/oai/request")
    assert DSpaceOaiHook().get_conn().settings.base_url == "https://dspace.mit.edu/oai/request"
    set_connection(monkeypatch, host="dspace.mit.edu", schema="http", port=8080, extra={"path": "server/oai/request"})
    assert DSpaceOaiHook().get_conn().settings.base_url == "http://dspace.mit.edu:8080/server/oai/request"
    set_connection(monkeypatch, host="dspace.mit.edu")
    assert DSpaceOaiHook().get_conn().settings.base_url == "https://dspace.mit.edu/oai/request"


def test_extra_tunes_the_client_and_names_the_set(monkeypatch):
    extra = {"set_spec": OCW_SET, "read_timeout": "30", "max_503_retries": 2, "http_method": "POST"}
    set_connection(monkeypatch, host="https://d/oai/request", extra=extra)
    hook = DSpaceOaiHook()
    settings = hook.get_conn().settings
    assert (settings.read_timeout, settings.max_503_retries, settings.http_method) == (30.0, 2, "POST")
    assert (hook.set_spec, hook.metadata_prefix) == (OCW_SET, "oai_dc")


def test_a_bad_extra_value_is_a_clear_error(monkeypatch):
    set_connection(monkeypatch, host="https://d/oai/request", extra={"max_503_retries": "many"})
    with pytest.raises(AirflowException, match=r"extra.max_503_retries must be a whole number, got .many."):
        DSpaceOaiHook().get_conn()


def test_missing_host_and_bad_urls_are_clear_errors(monkeypatch):
    set_connection(monkeypatch)
    with pytest.raises(AirflowException, match="needs host"):
        DSpaceOaiHook().get_conn()
    set_connection(monkeypatch, host="ftp://user:hunter2@d/oai")
    with pytest.raises(AirflowException) as caught:
        DSpaceOaiHook().get_conn()
    assert "hunter2" not in str(caught.value)


def test_credentials_become_basic_auth_and_stay_out_of_the_endpoint(monkeypatch):
    masked = []
    monkeypatch.setattr("ocw_operators.hooks.http_base.mask_secret", masked.append)
    set_connection(monkeypatch, host="https://harvester:hunter2@d/oai/request", login="harvester", password="pw")
    hook = DSpaceOaiHook()
    assert hook.get_conn().session.auth == ("harvester", "pw")
    assert hook.endpoint == "https://d/oai/request"
    assert masked == ["hunter2"], "a password written into the URL is masked in task logs"


def test_verbs_and_test_connection_against_the_sandbox(monkeypatch, sandbox_runtime):
    sandbox = start_oai_sandbox(sandbox_runtime)
    add_courses(sandbox.store, sandbox.clock, 3)
    add_courses(sandbox.store, sandbox.clock, 2, first=10, collection="1721.1/40000")
    set_connection(monkeypatch, host=sandbox.base_url, extra={"set_spec": OCW_SET})
    hook = DSpaceOaiHook()
    assert hook.test_connection() == (True, "OAI-PMH repository 'DSpace@Sandbox' (granularity YYYY-MM-DDThh:mm:ssZ)")
    assert sum(len(page.records) for page in hook.list_pages()) == 3, "the Connection's set is the default"
    assert {s.spec for s in hook.list_sets()} == {OCW_SET, "col_1721.1_40000", "com_1721.1_1"}
    assert hook.get_record("oai:dspace.sandbox.test:1721.1/100001").title == "Course 0"
    sandbox.fault("status", status=500, body="down")
    ok, message = DSpaceOaiHook().test_connection()
    assert not ok and "HTTP 500" in message
