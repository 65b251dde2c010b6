"""Status recording, chunked status updates and stale-job expiry."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from ocw_operators.clients.wayback_spn2 import JobStatus
from ocw_operators.hooks.wayback import WaybackHook
from ocw_operators.wayback.status import (
    STATUS_EXPIRED,
    expire_stale_jobs,
    pending_job_ids,
    record_job_statuses,
    update_job_statuses,
)
from tests.conftest import WaybackSandbox
from tests.ocw_operators.wayback.factories import NOW, add_resource, aware, get_resource


def _pending(engine, job_id: str, **fields) -> int:
    fields.setdefault("wayback_submitted_at", NOW - dt.timedelta(minutes=10))
    return add_resource(engine, wayback_status="pending", wayback_job_id=job_id, **fields)


class RecordingStatusClient:
    def __init__(self, answers: dict[str, JobStatus]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def job_statuses(self, job_ids):
        job_ids = list(job_ids)
        self.calls.append(job_ids)
        return [self.answers[job_id] for job_id in job_ids if job_id in self.answers]


def test_success_error_pending_and_unknown(archive_engine, caplog):
    ok = _pending(archive_engine, "spn2-ok")
    same_url_other_site = _pending(archive_engine, "spn2-ok", site_name="other-site")
    bad = _pending(archive_engine, "spn2-bad")
    waiting = _pending(archive_engine, "spn2-wait")
    statuses = [
        JobStatus(
            "spn2-ok", "success", original_url="http://example.com/page1", timestamp="20230101000000", http_status=200
        ),
        JobStatus("spn2-bad", "error", status_ext="error:404", http_status=404),
        JobStatus("spn2-wait", "pending"),
        JobStatus("spn2-stranger", "success", original_url="x", timestamp="20230101000000"),
    ]
    summary = record_job_statuses(archive_engine, statuses, requested=["spn2-ok", "spn2-bad", "spn2-wait"], now=NOW)

    for resource in (ok, same_url_other_site):
        state = get_resource(archive_engine, resource)
        assert state.wayback_status == "success"
        assert state.wayback_url == "https://web.archive.org/web/20230101000000/http://example.com/page1"
        assert aware(state.wayback_last_successful_submission) == NOW
        assert state.wayback_http_status == 200
    state = get_resource(archive_engine, bad)
    assert (state.wayback_status, state.wayback_status_ext, state.wayback_http_status) == ("error", "error:404", 404)
    assert state.wayback_last_successful_submission is None
    assert get_resource(archive_engine, waiting).wayback_status == "pending"
    assert summary.to_dict() == {
        "requested": 3,
        "success": 1,
        "error": 1,
        "pending": 1,
        "not_reported": 0,
        "unknown": 1,
        "expired": 0,
    }
    assert "spn2-stranger" in caplog.text


def test_update_asks_in_chunks_of_fifty_and_commits_each(archive_engine):
    job_ids = [f"spn2-{number:03d}" for number in range(120)]
    for job_id in job_ids:
        _pending(archive_engine, job_id)
    answers = {job_id: JobStatus(job_id, "success", original_url="u", timestamp="20250101000000") for job_id in job_ids}
    client = RecordingStatusClient(answers)
    summary = update_job_statuses(archive_engine, client, clock=lambda: NOW)
    assert [len(call) for call in client.calls] == [50, 50, 20]
    assert sorted(job_id for call in client.calls for job_id in call) == job_ids
    assert summary.success == 120
    assert pending_job_ids(archive_engine) == []


def test_update_filters_by_site_and_job_ids_and_counts_unreported(archive_engine):
    _pending(archive_engine, "spn2-a", site_name="alpha", site_short_id="A.1")
    _pending(archive_engine, "spn2-b", site_name="beta")
    add_resource(archive_engine, wayback_status="success", wayback_job_id="spn2-done", site_name="alpha")
    client = RecordingStatusClient({})
    summary = update_job_statuses(archive_engine, client, site_filter=["A.1"])
    assert client.calls == [["spn2-a"]]
    assert summary.not_reported == 1
    update_job_statuses(archive_engine, client, job_ids=["spn2-b", "spn2-done", "spn2-nope"])
    assert client.calls[-1] == ["spn2-b"]


def test_nothing_pending_sends_nothing(archive_engine, caplog):
    client = RecordingStatusClient({})
    assert update_job_statuses(archive_engine, client).requested == 0
    assert client.calls == []
    assert "No pending Wayback Machine jobs to update." in caplog.text


def test_stale_pending_jobs_expire(archive_engine):
    stale = _pending(archive_engine, "spn2-old", wayback_submitted_at=NOW - dt.timedelta(hours=7))
    undated = _pending(archive_engine, "spn2-undated", wayback_submitted_at=None)
    fresh = _pending(archive_engine, "spn2-new", wayback_submitted_at=NOW - dt.timedelta(hours=5))
    old_success = add_resource(
        archive_engine, wayback_status="success", wayback_submitted_at=NOW - dt.timedelta(days=9)
    )

    assert expire_stale_jobs(archive_engine, max_age=dt.timedelta(hours=6), now=NOW) == 2
    for resource in (stale, undated):
        assert (
            get_resource(archive_engine, resource).wayback_status,
            get_resource(archive_engine, resource).wayback_status_ext,
        ) == (
            "error",
            STATUS_EXPIRED,
        )
    assert get_resource(archive_engine, fresh).wayback_status == "pending"
    assert get_resource(archive_engine, old_success).wayback_status == "success"
    assert expire_stale_jobs(archive_engine, max_age=dt.timedelta(hours=6), now=NOW) == 0


def test_a_late_success_still_lands_after_expiry(archive_engine):
    resource = _pending(archive_engine, "spn2-late", wayback_submitted_at=NOW - dt.timedelta(hours=7))
    expire_stale_jobs(archive_engine, now=NOW)
    late = JobStatus("spn2-late", "success", original_url="http://e.org/", timestamp="20260101000000")
    assert record_job_statuses(archive_engine, [late], now=NOW).success == 1
    assert get_resource(archive_engine, resource).wayback_status == "success"


def test_unknown_status_value_is_refused(archive_engine):
    _pending(archive_engine, "spn2-x")
    with pytest.raises(ValueError, match="unknown SPN2 job status"):
        record_job_statuses(archive_engine, [JobStatus("spn2-x", "exploded")], now=NOW)


def test_against_the_sandbox_forgotten_jobs_stay_pending_then_expire(archive_engine, sandbox_runtime, monkeypatch):
    sandbox = WaybackSandbox(sandbox_runtime, capture_seconds=0.0, status_ttl_seconds=0.3)
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", sandbox.conn_json())
    remembered, _ = sandbox.state.create_job("https://example.org/kept")
    forgotten, _ = sandbox.state.create_job("https://example.org/forgotten", now=time.time() - 3600)
    kept = _pending(archive_engine, remembered.job_id, wayback_submitted_at=dt.datetime.now(dt.UTC))
    lost = _pending(
        archive_engine, forgotten.job_id, wayback_submitted_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=7)
    )

    summary = update_job_statuses(archive_engine, WaybackHook())
    assert (summary.success, summary.not_reported) == (1, 1)
    assert get_resource(archive_engine, kept).wayback_url.endswith("/https://example.org/kept")
    assert get_resource(archive_engine, lost).wayback_status == "pending"
    assert expire_stale_jobs(archive_engine) == 1
    assert get_resource(archive_engine, lost).wayback_status_ext == STATUS_EXPIRED


def test_a_capture_reported_with_credentials_in_its_url_is_stored_without_them(archive_engine, wayback_conn):
    """A job sent before credentials were refused: SPN2 reports the URL as sent, the playback URL drops them."""
    job, _ = wayback_conn.state.create_job("https://archivist:s3cr3t-pw@example.org/private", now=time.time() - 5)
    resource = _pending(archive_engine, job.job_id, wayback_submitted_at=dt.datetime.now(dt.UTC))
    hook = WaybackHook()
    assert update_job_statuses(archive_engine, hook).success == 1
    hook.close()
    stored = get_resource(archive_engine, resource).wayback_url
    assert stored.startswith("https://web.archive.org/web/") and stored.endswith("/https://example.org/private")
