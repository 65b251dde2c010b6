"""WaybackHook at the HTTP boundary, against the sandbox SPN2 service."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import json
import logging
import re
import socket
import time
from types import SimpleNamespace

import pytest

from ocw_operators.clients import wayback_spn2 as spn2
from ocw_operators.clients.wayback_spn2 import (
    WaybackBadResponse,
    WaybackCaptureRefused,
    WaybackConnectTimeout,
    WaybackHttpError,
    WaybackRateLimited,
    WaybackTransportError,
    parse_retry_after,
)
from ocw_operators.hooks.wayback import WaybackHook, spn2_settings_from_connection
from ocw_sandbox.control import inject_fault
from tests.conftest import WaybackSandbox

JOB_ID = re.compile(r"^spn2-[0-9a-f]{40}$")


@pytest.fixture
def hook(wayback_conn) -> WaybackHook:
    hook = WaybackHook()
    yield hook
    hook.close()


def _assert_no_secret(text: str, sandbox: WaybackSandbox) -> None:
    assert sandbox.secret not in text
    assert sandbox.access_key not in text
    assert "LOW " not in text


def test_submit_sends_auth_accept_and_form_fields(hook, wayback_conn):
    """The sandbox answers 401 unless ``Authorization: LOW key:secret`` matches; form: url + skip_first_archive."""
    submission = hook.submit_capture("https://example.org/page")

    assert JOB_ID.match(submission.job_id)
    assert submission.url == "https://example.org/page"
    [request] = wayback_conn.save_requests()
    assert request["outcome"] == "created"
    assert request["url"] == "https://example.org/page"
    assert request["options"] == {"skip_first_archive": "1"}
    assert request["accept"] == "application/json"


def test_same_url_within_window_returns_the_same_job_with_a_message(hook, caplog):
    first = hook.submit_capture("https://example.org/again")
    with caplog.at_level(logging.WARNING):
        second = hook.submit_capture("https://example.org/again")
    assert second.job_id == first.job_id
    assert "same snapshot" in second.message
    assert "same snapshot" in caplog.text


def test_wrong_secret_is_an_http_error_that_never_shows_the_secret(wayback_sandbox, monkeypatch, caplog):
    wrong = "wrong-secret-value-123456"
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", wayback_sandbox.conn_json(secret=wrong))
    hook = WaybackHook()
    with caplog.at_level(logging.DEBUG), pytest.raises(WaybackHttpError) as raised:
        hook.submit_capture("https://example.org/")
    assert raised.value.status == 401
    assert "logged in" in raised.value.excerpt
    for text in (str(raised.value), repr(raised.value), caplog.text, repr(hook.settings())):
        assert wrong not in text
        assert wayback_sandbox.access_key not in text


def test_ok_without_job_id_is_a_refusal_carrying_status_ext_and_message(hook):
    with pytest.raises(WaybackCaptureRefused) as raised:
        hook.submit_capture("https://example.org/daily-cap/page")
    assert raised.value.status_ext == "error:too-many-daily-captures"
    assert "captured 10 times today" in raised.value.message


def test_429_with_retry_after_seconds(sandbox_runtime, monkeypatch):
    sandbox = WaybackSandbox(sandbox_runtime, captures_per_minute=1)
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", sandbox.conn_json())
    hook = WaybackHook()
    hook.submit_capture("https://example.org/one")
    with pytest.raises(WaybackRateLimited) as raised:
        hook.submit_capture("https://example.org/two")
    assert 55 <= raised.value.retry_after <= 60
    assert [r["outcome"] for r in sandbox.save_requests()] == ["created", 429]


def test_429_with_retry_after_http_date(hook, wayback_conn):
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120), usegmt=True)
    inject_fault(
        wayback_conn.base_url,
        "save",
        "status",
        status=429,
        body="<html>slow down</html>",
        headers={"Retry-After": when},
    )
    with pytest.raises(WaybackRateLimited) as raised:
        hook.submit_capture("https://example.org/")
    assert 115 <= raised.value.retry_after <= 121


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30", 30.0), (" 7 ", 7.0), ("-5", 0.0), ("1e9", 3600.0), ("soon", 60.0), (None, 60.0), ("nan", 60.0)],
)
def test_parse_retry_after_bounds_every_form(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_past_http_date_means_now():
    past = email.utils.format_datetime(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), usegmt=True)
    assert parse_retry_after(past) == 0.0


def test_5xx_is_an_http_error_with_status_and_short_excerpt(hook, wayback_conn):
    inject_fault(wayback_conn.base_url, "save", "status", status=502, body="<html>" + "Bad Gateway " * 200 + "</html>")
    with pytest.raises(WaybackHttpError) as raised:
        hook.submit_capture("https://example.org/")
    assert raised.value.status == 502
    assert "Bad Gateway" in raised.value.excerpt
    assert len(raised.value.excerpt) <= spn2.EXCERPT_CHARS


def test_server_echoing_credentials_is_scrubbed(hook, wayback_conn, caplog):
    echoed = f"debug: Authorization: LOW {wayback_conn.access_key}:{wayback_conn.secret}"
    inject_fault(wayback_conn.base_url, "save", "status", status=500, body=echoed)
    with caplog.at_level(logging.DEBUG), pytest.raises(WaybackHttpError) as raised:
        hook.submit_capture("https://example.org/")
    assert "***" in raised.value.excerpt
    for text in (str(raised.value), raised.value.excerpt, caplog.text):
        assert wayback_conn.secret not in text
        assert wayback_conn.access_key not in text


def test_non_json_ok_body_is_a_bad_response(hook, wayback_conn):
    inject_fault(wayback_conn.base_url, "save", "status", status=200, body="<html>Save Page Now</html>")
    with pytest.raises(WaybackBadResponse, match="not JSON"):
        hook.submit_capture("https://example.org/")


def test_oversized_body_is_refused(hook, wayback_conn, monkeypatch):
    monkeypatch.setattr(spn2, "MAX_BODY_BYTES", 1000)
    inject_fault(wayback_conn.base_url, "status", "status", status=200, body=json.dumps([{"x": "y" * 5000}]))
    with pytest.raises(WaybackBadResponse, match="larger than 1000 bytes"):
        hook.job_statuses(["spn2-" + "0" * 40])


def test_hanging_server_times_out(wayback_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", wayback_sandbox.conn_json(timeout=1.0))
    inject_fault(wayback_sandbox.base_url, "save", "hang", seconds=30)
    started = time.monotonic()
    with pytest.raises(WaybackTransportError, match="did not answer"):
        WaybackHook().submit_capture("https://example.org/")
    assert time.monotonic() - started < 10


@pytest.fixture
def unaccepting_port():
    """A port whose accept queue is full: the kernel drops further SYNs, so connecting times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for sock in [*fillers, server]:
        sock.close()


def test_connect_timeout_is_its_own_error(unaccepting_port, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAYBACK_DEFAULT",
        json.dumps(
            {"conn_type": "wayback_spn2", "host": f"http://127.0.0.1:{unaccepting_port}", "extra": {"timeout": 0.5}}
        ),
    )
    with pytest.raises(WaybackConnectTimeout):
        WaybackHook().submit_capture("https://example.org/")


def test_connection_refused_is_a_transport_error(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAYBACK_DEFAULT", json.dumps({"conn_type": "wayback_spn2", "host": f"http://127.0.0.1:{port}"})
    )
    with pytest.raises(WaybackTransportError, match="ConnectionError"):
        WaybackHook().submit_capture("https://example.org/")


def test_job_statuses_batch_list_shape(hook, wayback_conn):
    ok = hook.submit_capture("https://example.org/ok")
    missing = hook.submit_capture("https://example.org/status/404")
    assert [s.status for s in hook.job_statuses([ok.job_id, missing.job_id])] == ["pending", "pending"]
    time.sleep(0.3)
    statuses = {s.job_id: s for s in hook.job_statuses([ok.job_id, missing.job_id, "spn2-" + "f" * 40])}
    assert set(statuses) == {ok.job_id, missing.job_id}  # the unknown job is simply absent
    assert statuses[ok.job_id].status == "success"
    assert statuses[ok.job_id].http_status == 200
    assert re.fullmatch(
        r"https://web\.archive\.org/web/\d{14}/https://example\.org/ok", statuses[ok.job_id].wayback_url
    )
    assert statuses[missing.job_id].status == "error"
    assert statuses[missing.job_id].status_ext == "error:not-found"
    assert statuses[missing.job_id].http_status == 404
    assert wayback_conn.state.status_requests[-1]["job_ids"] == [ok.job_id, missing.job_id, "spn2-" + "f" * 40]


def test_job_statuses_accepts_a_single_dict(hook, wayback_conn):
    body = json.dumps({"status": "success", "job_id": "spn2-abc", "timestamp": "20250101000000", "original_url": "u"})
    inject_fault(wayback_conn.base_url, "status", "status", status=200, body=body)
    [status] = hook.job_statuses(["spn2-abc"])
    assert status.status == "success"
    assert status.http_status is None
    assert status.wayback_url == "https://web.archive.org/web/20250101000000/u"


def test_job_statuses_non_json_is_a_bad_response(hook, wayback_conn):
    inject_fault(wayback_conn.base_url, "status", "status", status=200, body="<html>oops</html>")
    with pytest.raises(WaybackBadResponse):
        hook.job_statuses(["spn2-abc"])


def test_job_statuses_with_no_ids_sends_nothing(hook, wayback_conn):
    assert hook.job_statuses([]) == []
    assert wayback_conn.state.status_requests == []


def test_async_job_statuses_and_errors(hook, wayback_conn):
    job = hook.submit_capture("https://example.org/async")
    time.sleep(0.3)
    [status] = asyncio.run(hook.ajob_statuses([job.job_id]))
    assert status.status == "success"

    inject_fault(wayback_conn.base_url, "status", "status", status=429, headers={"Retry-After": "12"})
    with pytest.raises(WaybackRateLimited) as raised:
        asyncio.run(hook.ajob_statuses([job.job_id]))
    assert raised.value.retry_after == 12

    inject_fault(wayback_conn.base_url, "status", "status", status=503, body="down for maintenance")
    with pytest.raises(WaybackHttpError) as http_error:
        asyncio.run(hook.ajob_statuses([job.job_id]))
    assert http_error.value.status == 503


def test_async_hang_times_out(wayback_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", wayback_sandbox.conn_json(timeout=1.0))
    inject_fault(wayback_sandbox.base_url, "status", "hang", seconds=30)
    started = time.monotonic()
    with pytest.raises(WaybackTransportError, match="did not answer"):
        asyncio.run(WaybackHook().ajob_statuses(["spn2-abc"]))
    assert time.monotonic() - started < 10


def test_test_connection_reports_both_ways(hook, wayback_sandbox, monkeypatch):
    assert hook.test_connection() == (True, "SPN2 answered the status request")
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", wayback_sandbox.conn_json(secret="not-the-secret-000"))
    ok, message = WaybackHook().test_connection()
    assert not ok
    assert "401" in message


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        (None, None, None, "https://web.archive.org"),
        ("web.archive.org", None, None, "https://web.archive.org"),
        ("127.0.0.1", "http", 8080, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:9000/", None, None, "http://127.0.0.1:9000"),
        ("http://127.0.0.1", None, 9001, "http://127.0.0.1:9001"),
    ],
)
def test_settings_from_connection(host, schema, port, expected):
    conn = SimpleNamespace(
        conn_id="wayback_default", host=host, schema=schema, port=port, login="k", password="s", extra_dejson={}
    )
    settings = spn2_settings_from_connection(conn)
    assert settings.base_url == expected
    assert settings.timeout == spn2.DEFAULT_TIMEOUT_SECONDS
    assert settings.headers() == {"Accept": "application/json", "Authorization": "LOW k:s"}


def test_settings_refuse_bad_timeout_and_url():
    conn = SimpleNamespace(
        conn_id="c", host="h", schema=None, port=None, login="", password="", extra_dejson={"timeout": "forever"}
    )
    with pytest.raises(ValueError, match="timeout"):
        spn2_settings_from_connection(conn)
    with pytest.raises(ValueError, match="base URL"):
        spn2.Spn2Settings(base_url="ftp://x")
    with pytest.raises(ValueError, match="timeout"):
        spn2.Spn2Settings(timeout=0)


def test_empty_url_is_refused_before_any_request(hook, wayback_conn):
    with pytest.raises(ValueError, match="empty URL"):
        hook.submit_capture("   ")
    assert wayback_conn.save_requests() == []


def test_status_text_echoing_credentials_is_scrubbed(hook, wayback_conn, caplog):
    echo = f"{wayback_conn.access_key}:{wayback_conn.secret}"
    body = json.dumps(
        [
            {"job_id": "spn2-a", "status": "error", "status_ext": "error:x", "message": f"auth was {echo}"},
            {"status": "error", "message": f"no job id, auth was {echo}"},
        ]
    )
    inject_fault(wayback_conn.base_url, "status", "status", status=200, body=body)
    with caplog.at_level(logging.DEBUG):
        [status] = hook.job_statuses(["spn2-a"])
    assert status.message == "auth was ***:***"
    assert wayback_conn.secret not in caplog.text
    assert "no job id" in caplog.text
