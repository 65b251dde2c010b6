"""The weekly chain end to end, as the scheduler runs it: link check -> Wayback submission -> status update.

``dag.test()`` does not follow Asset schedules, so each DAG is run in turn, as the Asset event would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources.file_import import ResourceRecord, import_records
from ocw_operators.external_resources.identity import resource_uuid
from tests.conftest import WaybackSandbox

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow_e2e, pytest.mark.timeout(240, method="thread")]


@pytest.fixture(scope="module")
def dag_bag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_check_then_capture_then_poll(airflow_db, archive_db_conn, archive_engine, linkfarm, sandbox_runtime,
                                      dag_bag, monkeypatch):  # fmt: skip
    farm = linkfarm(hosts=2)
    wayback = WaybackSandbox(sandbox_runtime, capture_seconds=0.0)
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", wayback.conn_json())
    monkeypatch.setenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", "true")
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_RATE_LIMIT_PER_SECOND", "50")
    monkeypatch.setenv("AIRFLOW_VAR_LINK_CHECK_TIMEOUT_SECONDS", "5")
    urls = {"good": farm.url("/ok"), "refuses_head": farm.url("/head-405", host=1), "broken": farm.url("/status/404")}
    with session_scope(archive_engine) as session:
        import_records(session, [ResourceRecord(resource_uuid("course", url), "course", url) for url in urls.values()])
    base = dt.datetime(2026, 7, 6, 4, tzinfo=dt.UTC)

    check = dag_bag.dags["external_resource_check"].test(logical_date=base, run_conf={"site_filter": [], "exclude": []})
    submit = dag_bag.dags["wayback_submit"].test(logical_date=base + dt.timedelta(minutes=5))
    poll = dag_bag.dags["wayback_status_update"].test(logical_date=base + dt.timedelta(hours=6))

    assert (check.state, submit.state, poll.state) == ("success", "success", "success")
    with session_scope(archive_engine) as session:
        rows = {row.url: row for row in session.scalars(select(ExternalResource))}
    good, refuses_head, broken = (rows[urls[key]] for key in ("good", "refuses_head", "broken"))
    assert (good.status, refuses_head.status, broken.status) == ("valid", "valid", "broken")
    for row in (good, refuses_head):
        assert row.wayback_status == "success"
        assert row.wayback_url.startswith("https://web.archive.org/web/") and row.wayback_url.endswith(row.url)
        assert row.wayback_last_successful_submission is not None
    assert broken.wayback_status == "" and broken.wayback_job_id == ""
    assert sorted(request["url"] for request in wayback.save_requests()) == sorted([good.url, refuses_head.url])

    # A rerun within the 30-day interval captures nothing again.
    again = dag_bag.dags["wayback_submit"].test(logical_date=base + dt.timedelta(days=1))
    assert again.state == "success"
    assert len(wayback.save_requests()) == 2
