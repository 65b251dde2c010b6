"""End-to-end runs of wayback_submit and wayback_status_update with dag.test() against the sandbox SPN2 service."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from ocw_operators.db import make_engine
from tests.conftest import WaybackSandbox
from tests.ocw_operators.wayback.factories import add_resource, aware, get_resource

# Airflow's execution_timeout uses SIGALRM inside dag.test(), so the signal-based pytest-timeout cannot
# bound these tests; the thread method can (a task stuck in retries would otherwise wait out its backoff).
pytestmark = [pytest.mark.airflow_e2e, pytest.mark.timeout(180, method="thread")]

ROOT = Path(__file__).resolve().parents[2]
# dag.test() runs share one Airflow metadata DB per session: every run needs its own logical date.
_run_dates = itertools.count()


def _logical_date() -> dt.datetime:
    return dt.datetime(2026, 6, 1, tzinfo=dt.UTC) + dt.timedelta(hours=next(_run_dates))


@pytest.fixture(scope="module")
def dag_bag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


@pytest.fixture
def sandbox(sandbox_runtime, monkeypatch) -> WaybackSandbox:
    # Captures finish at once, so the deferred task's first status poll already sees the results.
    sandbox = WaybackSandbox(sandbox_runtime, capture_seconds=0.0)
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", sandbox.conn_json())
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_RATE_LIMIT_PER_SECOND", "50")
    return sandbox


@pytest.fixture
def engine(archive_db_conn):
    engine = make_engine(archive_db_conn)
    yield engine
    engine.dispose()


def _states(dag_run) -> dict[str, list[str]]:
    states: dict[str, list[str]] = {}
    for ti in dag_run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    return states


def test_wayback_submit_captures_the_selected_sites_and_records_results(dag_bag, engine, sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", "true")
    calculus = dict(site_name="18-01-calculus", site_short_id="18.01")
    ok = add_resource(engine, url="https://example.org/calculus/notes", **calculus)
    missing = add_resource(engine, url="https://example.org/status/404", **calculus)
    broken = add_resource(engine, url="https://example.org/calculus/broken", status="broken", **calculus)
    recent = add_resource(
        engine,
        url="https://example.org/calculus/recent",
        wayback_status="success",
        wayback_last_successful_submission=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
        **calculus,
    )
    other_site = add_resource(engine, url="https://example.org/physics", site_name="8-01-physics", site_short_id="8.01")

    dag_run = dag_bag.get_dag("wayback_submit").test(
        run_conf={"site_filter": ["18.01"], "exclude": [], "force": False, "resource_ids": []},
        logical_date=_logical_date(),
    )

    assert str(dag_run.state) == "success", _states(dag_run)
    assert sorted(request["url"] for request in sandbox.save_requests()) == [
        "https://example.org/calculus/notes",
        "https://example.org/status/404",
    ]
    state = get_resource(engine, ok)
    assert state.wayback_status == "success"
    assert state.wayback_url.startswith("https://web.archive.org/web/")
    assert state.wayback_url.endswith("/https://example.org/calculus/notes")
    assert state.wayback_http_status == 200
    assert aware(state.wayback_last_successful_submission) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    state = get_resource(engine, missing)
    assert (state.wayback_status, state.wayback_status_ext, state.wayback_http_status) == (
        "error",
        "error:not-found",
        404,
    )
    assert get_resource(engine, broken).wayback_status == ""
    assert get_resource(engine, recent).wayback_status == "success"
    assert get_resource(engine, other_site).wayback_status == ""
    [submit] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "submit_batch"]
    assert submit.rendered_map_index == "batch 1: 2 resources"

    # A second run (a rerun, or the next asset event) finds nothing left to send.
    again = dag_bag.get_dag("wayback_submit").test(
        run_conf={"site_filter": ["18.01"], "exclude": [], "force": False, "resource_ids": []},
        logical_date=_logical_date(),
    )
    assert str(again.state) == "success"
    assert len(sandbox.save_requests()) == 2


def test_wayback_submit_sends_nothing_while_disabled(dag_bag, engine, sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", "false")
    resource = add_resource(engine)

    dag_run = dag_bag.get_dag("wayback_submit").test(
        run_conf={"site_filter": [], "exclude": [], "force": True, "resource_ids": []}, logical_date=_logical_date()
    )

    assert str(dag_run.state) == "success"
    assert _states(dag_run)["select_batches"] == ["skipped"]
    assert sandbox.save_requests() == []
    assert get_resource(engine, resource).wayback_status == ""


def test_wayback_status_update_settles_pending_jobs_and_expires_stale_ones(dag_bag, engine, sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", "true")
    now = dt.datetime.now(dt.UTC)
    done, _ = sandbox.state.create_job("https://example.org/done")
    failed, _ = sandbox.state.create_job("https://example.org/status/404")
    settled = add_resource(engine, wayback_status="pending", wayback_job_id=done.job_id, wayback_submitted_at=now)
    refused = add_resource(engine, wayback_status="pending", wayback_job_id=failed.job_id, wayback_submitted_at=now)
    stale = add_resource(
        engine,
        wayback_status="pending",
        wayback_job_id="spn2-" + "0" * 40,
        wayback_submitted_at=now - dt.timedelta(hours=7),
    )

    dag_run = dag_bag.get_dag("wayback_status_update").test(
        run_conf={"site_filter": [], "job_ids": []}, logical_date=_logical_date()
    )

    assert str(dag_run.state) == "success", _states(dag_run)
    state = get_resource(engine, settled)
    assert state.wayback_status == "success"
    assert state.wayback_url.endswith("/https://example.org/done")
    assert get_resource(engine, refused).wayback_status_ext == "error:not-found"
    assert get_resource(engine, stale).wayback_status_ext == "error:status-expired"
    assert sandbox.save_requests() == []
