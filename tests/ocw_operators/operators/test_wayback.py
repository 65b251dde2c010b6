"""Wayback operators without a scheduler: the gate, batches, TaskDeferred + execute_complete, status update."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowSkipException, TaskDeferred

from ocw_operators.assets import EXTERNAL_RESOURCES_CHECKED, EXTERNAL_RESOURCES_CREATED
from ocw_operators.db import make_engine
from ocw_operators.operators.wayback import (
    WaybackCandidatesOperator,
    WaybackStatusUpdateOperator,
    WaybackSubmitOperator,
)
from ocw_operators.params import InvalidValueError
from ocw_operators.params import parse_ids as as_int_list
from ocw_operators.params import parse_names as as_str_list
from ocw_operators.triggers.wayback import WaybackJobsTrigger
from ocw_sandbox.control import inject_fault
from tests.ocw_operators.wayback.factories import add_resource, get_resource


@pytest.fixture
def enabled(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", "true")
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_RATE_LIMIT_PER_SECOND", "50")


@pytest.fixture
def engine(archive_db_conn):
    engine = make_engine(archive_db_conn)
    yield engine
    engine.dispose()


def _context(map_index: int = 0, events: dict | None = None, run_started: dt.datetime | None = None) -> dict:
    return {
        "ti": SimpleNamespace(map_index=map_index),
        "dag_run": SimpleNamespace(start_date=run_started or dt.datetime.now(dt.UTC)),
        "triggering_asset_events": events or {},
    }


# --- the ENABLE_WAYBACK_TASKS gate --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "false"])
def test_every_operator_skips_when_disabled_and_sends_nothing(value, engine, wayback_conn, monkeypatch):
    if value is None:
        monkeypatch.delenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", raising=False)
    else:
        monkeypatch.setenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", value)
    resource = add_resource(engine)
    operators = [
        WaybackCandidatesOperator(task_id="select"),
        WaybackSubmitOperator(task_id="submit", resource_ids=[resource]),
        WaybackStatusUpdateOperator(task_id="status"),
    ]
    for operator in operators:
        with pytest.raises(AirflowSkipException, match="ENABLE_WAYBACK_TASKS"):
            operator.execute(_context())
    assert wayback_conn.save_requests() == []
    assert wayback_conn.state.status_requests == []
    assert get_resource(engine, resource).wayback_status == ""


def test_a_bad_variable_is_a_clear_error(engine, enabled, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_RATE_LIMIT_PER_SECOND", "fast")
    with pytest.raises(AirflowException, match="WAYBACK_RATE_LIMIT_PER_SECOND must be a number"):
        WaybackCandidatesOperator(task_id="select").execute(_context())


# --- candidate batches ------------------------------------------------------------------------------------


def test_candidates_come_back_as_batches(engine, enabled):
    ids = [add_resource(engine) for _ in range(5)]
    add_resource(engine, status="broken")
    operator = WaybackCandidatesOperator(task_id="select", batch_size=2)
    assert operator.execute(_context()) == [ids[0:2], ids[2:4], ids[4:5]]


def test_created_asset_events_limit_the_run_to_their_ids(engine, enabled):
    existing = add_resource(engine)
    new = [add_resource(engine, status="unchecked"), add_resource(engine)]
    events = {EXTERNAL_RESOURCES_CREATED: [SimpleNamespace(extra={"resource_ids": new})]}
    assert WaybackCandidatesOperator(task_id="select").execute(_context(events=events)) == [new]
    events[EXTERNAL_RESOURCES_CHECKED] = [SimpleNamespace(extra={})]
    # The weekly check widens the run to every valid resource (the unchecked new one waits for its check).
    assert WaybackCandidatesOperator(task_id="select").execute(_context(events=events)) == [[existing, new[1]]]


def test_manual_params_filter_and_force(engine, enabled):
    recent = add_resource(engine, site_short_id="8.01", wayback_last_successful_submission=dt.datetime.now(dt.UTC))
    add_resource(engine, site_short_id="18.01")
    operator = WaybackCandidatesOperator(task_id="select", site_filter=["8.01"], force=False)
    assert operator.execute(_context()) == []
    operator = WaybackCandidatesOperator(task_id="select", site_filter="8.01", force="True")
    assert operator.execute(_context()) == [[recent]]


def test_param_coercion():
    assert as_str_list(["a", " b ", ""], "x") == ["a", "b"]
    assert as_str_list('["a"]', "x") == ["a"]
    assert as_str_list("a, b", "x") == ["a", "b"]
    assert as_str_list(None, "x") == []
    assert as_int_list("[1, 2]", "x") == [1, 2]
    assert as_int_list([3, "4"], "x") == [3, 4]
    with pytest.raises(InvalidValueError, match="list of integers"):
        as_int_list([True], "x")
    with pytest.raises(InvalidValueError, match="list of strings"):
        as_str_list([1], "x")


# --- submission, deferral and completion ------------------------------------------------------------------


def test_submit_defers_then_records_results(engine, enabled, wayback_conn):
    ok = add_resource(engine, url="https://example.org/fine")
    missing = add_resource(engine, url="https://example.org/status/404")
    operator = WaybackSubmitOperator(task_id="submit", resource_ids=[ok, missing], poll_interval=0.1)
    context = _context(map_index=2)

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)

    trigger = deferred.value.trigger
    assert isinstance(trigger, WaybackJobsTrigger)
    assert deferred.value.method_name == "execute_complete"
    submission = deferred.value.kwargs["submission"]
    assert submission["submitted"] == 2
    assert trigger.job_ids == submission["job_ids"]
    assert get_resource(engine, ok).wayback_status == "pending"

    _classpath, kwargs = trigger.serialize()
    restored = WaybackJobsTrigger(**kwargs)

    async def first_event():
        async for event in restored.run():
            return event.payload

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=20))
    result = operator.execute_complete(context, event=event, submission=submission)

    assert result["statuses"]["success"] == 1
    assert result["statuses"]["error"] == 1
    state = get_resource(engine, ok)
    assert state.wayback_status == "success"
    assert state.wayback_url.startswith("https://web.archive.org/web/")
    assert state.wayback_url.endswith("/https://example.org/fine")
    assert state.wayback_last_successful_submission is not None
    assert get_resource(engine, missing).wayback_status_ext == "error:not-found"


def test_retry_of_a_submit_task_sends_nothing_twice(engine, enabled, wayback_conn):
    resource = add_resource(engine)
    operator = WaybackSubmitOperator(task_id="submit", resource_ids=[resource], deferrable=False)
    first = operator.execute(_context())
    second = operator.execute(_context())
    assert (first["submission"]["submitted"], second["submission"]["skipped"]) == (1, 1)
    assert len(wayback_conn.save_requests()) == 1


def test_forced_submit_retry_within_the_run_sends_nothing_twice(engine, enabled, wayback_conn):
    resource = add_resource(engine, wayback_last_successful_submission=dt.datetime.now(dt.UTC))
    run_started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    operator = WaybackSubmitOperator(task_id="submit", resource_ids=[resource], force=True, deferrable=False)
    assert operator.execute(_context(run_started=run_started))["submission"]["submitted"] == 1
    assert operator.execute(_context(run_started=run_started))["submission"]["skipped"] == 1
    assert len(wayback_conn.save_requests()) == 1


def test_failures_fail_the_task_after_recording_and_the_retry_resends_only_those(engine, enabled, wayback_conn):
    good = add_resource(engine, url="https://example.org/good")
    bad = add_resource(engine, url="https://example.org/bad")
    operator = WaybackSubmitOperator(task_id="submit", resource_ids=[good, bad], deferrable=False)
    # Faults fire in order: the first request (good) is only delayed, the second (bad) gets a 503.
    inject_fault(wayback_conn.base_url, "save", "delay", seconds=0)  # good: answered normally
    inject_fault(wayback_conn.base_url, "save", "status", status=503, body="maintenance")  # bad: 503

    with pytest.raises(AirflowException, match="1 of 2 Wayback submissions failed"):
        operator.execute(_context())
    assert get_resource(engine, good).wayback_status == "pending"
    assert get_resource(engine, bad).wayback_status_ext == "error:http-503"

    retry = operator.execute(_context())
    assert (retry["submission"]["submitted"], retry["submission"]["skipped"]) == (1, 1)
    assert [request["url"] for request in wayback_conn.save_requests()] == [
        "https://example.org/good",
        "https://example.org/bad",
        "https://example.org/bad",
    ]


def test_no_jobs_means_no_deferral(engine, enabled, wayback_conn):
    capped = add_resource(engine, url="https://example.org/daily-cap/x")
    result = WaybackSubmitOperator(task_id="submit", resource_ids=[capped]).execute(_context())
    assert result["submission"]["refused"] == 1
    assert result["statuses"] is None


# --- status update ----------------------------------------------------------------------------------------


def test_status_update_records_and_expires(engine, enabled, wayback_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_PENDING_EXPIRY_HOURS", "2")
    job, _ = wayback_conn.state.create_job("https://example.org/done", now=0)  # long finished... and forgotten
    fresh, _ = wayback_conn.state.create_job("https://example.org/fresh")
    now = dt.datetime.now(dt.UTC)
    stale = add_resource(
        engine, wayback_status="pending", wayback_job_id=job.job_id, wayback_submitted_at=now - dt.timedelta(hours=3)
    )
    current = add_resource(engine, wayback_status="pending", wayback_job_id=fresh.job_id, wayback_submitted_at=now)
    wayback_conn.state.capture_seconds = 0
    result = WaybackStatusUpdateOperator(task_id="status").execute(_context())
    assert result["success"] == 1
    assert result["not_reported"] == 1
    assert result["expired"] == 1
    assert get_resource(engine, current).wayback_status == "success"
    assert get_resource(engine, stale).wayback_status_ext == "error:status-expired"


# --- task log wording ---------------------------------------------------------------------------------------


def test_log_lines_are_sentences_with_the_numbers_named(engine, enabled, wayback_conn, capfd, caplog):
    caplog.set_level("INFO")
    wayback_conn.state.capture_seconds = 0
    ids = [add_resource(engine, url=f"https://example.org/page-{n}") for n in range(2)]

    batches = WaybackCandidatesOperator(task_id="select").execute(_context())
    WaybackSubmitOperator(task_id="submit", resource_ids=batches[0], deferrable=False).execute(_context())
    WaybackSubmitOperator(task_id="submit", resource_ids=ids, deferrable=False).execute(_context())
    WaybackStatusUpdateOperator(task_id="status").execute(_context())

    logged = capfd.readouterr().out + caplog.text
    assert (
        "Selected 2 resources for Wayback Machine capture, in 1 batch of up to 25 (sites: all; excluded: none; "
        "every valid resource; leaving out those captured in the last 30 days)." in logged
    )
    assert "Wayback Machine submission of 2 resources: 2 accepted with a capture job." in logged
    assert (
        "Wayback Machine submission of 2 resources: 0 accepted with a capture job, 2 skipped (already sent, or "
        "captured within the submission interval)." in logged
    )
    assert (
        "Wayback status update finished. Asked SPN2 about 2 capture jobs: 2 succeeded, 0 failed, 0 still pending."
        in logged
    )
    ours = [line for line in logged.splitlines() if "ocw_operators" in line]
    assert len(ours) >= 4
    assert not [line for line in ours if "{" in line or "<" in line or "Status." in line]


def test_summaries_describe_every_nonzero_count():
    from ocw_operators.wayback.status import StatusSummary
    from ocw_operators.wayback.submission import SubmissionSummary

    submission = SubmissionSummary(requested=5, submitted=1, refused=1, failed=1, empty_url=1, rate_limited=3)
    submission.not_attempted = 1
    assert submission.describe() == (
        "Wayback Machine submission of 5 resources: 1 accepted with a capture job, 1 refused by SPN2, "
        "1 failed (recorded as errors; a retry resends them), 1 skipped for an empty URL, 1 left for a retry "
        "(the rate limit asked for too long a wait). SPN2 answered 3 requests with 429 Too Many Requests."
    )
    status = StatusSummary(requested=1, pending=1, not_reported=0, unknown=2, expired=1)
    assert status.describe() == (
        "Asked SPN2 about 1 capture job: 0 succeeded, 0 failed, 1 still pending, 2 reported for no pending resource "
        "(ignored). Expired 1 job pending for too long."
    )
