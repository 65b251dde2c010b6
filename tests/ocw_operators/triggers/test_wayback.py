"""WaybackJobsTrigger run with asyncio against the sandbox SPN2 service."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from ocw_operators.triggers.wayback import WaybackJobsTrigger
from ocw_sandbox.control import inject_fault
from ocw_sandbox.faults import FAULTS
from tests.conftest import WaybackSandbox


async def _events(trigger: WaybackJobsTrigger) -> list[dict]:
    return [event.payload async for event in trigger.run()]


def _run(trigger: WaybackJobsTrigger) -> list[dict]:
    return asyncio.run(asyncio.wait_for(_events(trigger), timeout=30))


def _roundtrip(trigger: WaybackJobsTrigger) -> WaybackJobsTrigger:
    classpath, kwargs = trigger.serialize()
    assert classpath == "ocw_operators.triggers.wayback.WaybackJobsTrigger"
    return WaybackJobsTrigger(**json.loads(json.dumps(kwargs)))


def test_polls_until_no_job_is_pending_and_yields_one_event(wayback_conn):
    ok, _ = wayback_conn.state.create_job("https://example.org/ok")
    missing, _ = wayback_conn.state.create_job("https://example.org/status/404")
    trigger = _roundtrip(WaybackJobsTrigger([ok.job_id, missing.job_id, ok.job_id], poll_interval=0.1, timeout=20))

    [event] = _run(trigger)

    statuses = {status["job_id"]: status for status in event["statuses"]}
    assert statuses[ok.job_id]["status"] == "success"
    assert statuses[ok.job_id]["http_status"] == 200
    assert statuses[missing.job_id]["status_ext"] == "error:not-found"
    assert event["timed_out"] is False
    assert event["polls"] >= 2  # the first poll saw them pending (captures take 0.2 s)
    assert event["not_reported"] == []
    json.dumps(event)  # the payload must be JSON-serialisable
    # Batch requests only, and never a capture.
    assert all(len(request["job_ids"]) == 2 for request in wayback_conn.state.status_requests)
    assert wayback_conn.save_requests() == []


def test_times_out_with_what_it_knows(sandbox_runtime, monkeypatch):
    slow = WaybackSandbox(sandbox_runtime, capture_seconds=60)
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", slow.conn_json())
    job, _ = slow.state.create_job("https://example.org/slow")
    started = time.monotonic()
    [event] = _run(WaybackJobsTrigger([job.job_id], poll_interval=0.2, timeout=0.7))
    assert time.monotonic() - started < 5
    assert event["timed_out"] is True
    assert [status["status"] for status in event["statuses"]] == ["pending"]


def test_forgotten_jobs_end_the_wait(wayback_conn):
    [event] = _run(WaybackJobsTrigger(["spn2-" + "e" * 40], poll_interval=0.1, timeout=20))
    assert event == {
        "statuses": [],
        "not_reported": ["spn2-" + "e" * 40],
        "timed_out": False,
        "polls": 1,
        "last_error": None,
    }


def test_transient_errors_and_429_are_retried_until_the_deadline(wayback_conn):
    job, _ = wayback_conn.state.create_job("https://example.org/flaky")
    inject_fault(wayback_conn.base_url, "status", "status", status=502, body="bad gateway")
    inject_fault(wayback_conn.base_url, "status", "status", status=429, headers={"Retry-After": "0"})
    [event] = _run(WaybackJobsTrigger([job.job_id], poll_interval=0.1, timeout=20))
    assert [status["status"] for status in event["statuses"]] == ["success"]
    assert "429" in event["last_error"]
    assert wayback_conn.app[FAULTS].fired == ["status:status", "status:status"]


def test_a_deadline_survives_serialisation():
    trigger = WaybackJobsTrigger(["spn2-a"], timeout=100)
    restored = _roundtrip(trigger)
    assert restored.deadline == trigger.deadline


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="positive"):
        WaybackJobsTrigger(["spn2-a"], poll_interval=0)
