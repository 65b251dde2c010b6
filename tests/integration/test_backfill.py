"""``airflow backfill create`` on the Celery topology: dry-run listings, and real backfills that complete."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import requests
from sqlalchemy import create_engine, select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.db.models.oai import OaiHarvestedItem, OaiHarvestRun
from tests.integration.cluster import FINISHED_RUN_STATES, wait_until
from tests.ocw_operators.oai.support import add_courses

pytestmark = pytest.mark.integration

OAI_HARVEST = "dspace_oai_harvest"
STATUS_UPDATE = "wayback_status_update"
BACKFILL_TIMEOUT_S = 180
LISTED_DATE = re.compile(r"^\|\s*(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00)\s*\|", re.M)


@pytest.fixture(scope="module")
def archive(celery_cluster):
    engine = create_engine(celery_cluster.archive_db_url)
    yield engine
    engine.dispose()


def backfill(cluster, dag_id: str, *args: str) -> str:
    """``airflow backfill create``; the DAG is unpaused first, because a paused DAG's backfill runs stay queued."""
    cluster.wait_for_dag(dag_id)
    if "--dry-run" not in args:
        cluster.unpause(dag_id)
    return cluster.airflow("backfill", "create", "--dag-id", dag_id, *args).stdout


def wait_for_backfill_runs(cluster, dag_id: str, expected: int) -> list[dict]:
    """Every run the backfill created has finished (success or failed)."""

    def probe() -> list[dict] | None:
        runs = [run for run in cluster.dag_runs(dag_id) if run["run_type"] == "backfill"]
        done = len(runs) == expected and all(run["state"] in FINISHED_RUN_STATES for run in runs)
        return runs if done else None

    return wait_until(
        probe, timeout_s=BACKFILL_TIMEOUT_S, interval_s=1.0, what=f"{dag_id} backfill", check=cluster.check_processes
    )


def test_dry_run_lists_every_day_of_a_month_and_creates_nothing(celery_cluster):
    output = backfill(
        celery_cluster, OAI_HARVEST, "--from-date", "2026-10-01", "--to-date", "2026-10-31T23:59:59", "--dry-run"
    )

    days = [f"2026-10-{day:02d} 02:00:00+00:00" for day in range(1, 32)]
    assert LISTED_DATE.findall(output) == days
    assert [run for run in celery_cluster.dag_runs(OAI_HARVEST) if run["run_type"] == "backfill"] == []


def test_backfill_harvests_each_day_of_its_window_on_the_workers(celery_cluster, oai_sandbox, archive):
    def deposit(when: dt.datetime, count: int = 1) -> set[str]:
        oai_sandbox.clock.now = when
        return {item.handle for item in add_courses(oai_sandbox.store, oai_sandbox.clock, count)}

    before = deposit(dt.datetime(2026, 10, 4, 23, 0, tzinfo=dt.UTC))  # the 2026-10-04 02:00 run's interval
    inside = deposit(dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC), 2)
    inside |= deposit(dt.datetime(2026, 10, 6, 10, 0, tzinfo=dt.UTC))
    inside |= deposit(dt.datetime(2026, 10, 8, 1, 59, tzinfo=dt.UTC))  # last second of the 10-07 run's interval
    after = deposit(dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.UTC))

    backfill(
        celery_cluster,
        OAI_HARVEST,
        "--from-date",
        "2026-10-05",
        "--to-date",
        "2026-10-07T02:00",
        "--max-active-runs",
        "1",
    )
    runs = wait_for_backfill_runs(celery_cluster, OAI_HARVEST, expected=3)

    assert sorted(run["logical_date"] for run in runs) == [f"2026-10-0{day}T02:00:00Z" for day in (5, 6, 7)]
    assert {run["state"] for run in runs} == {"success"}
    hosts = {ti["hostname"] for run in runs for ti in celery_cluster.task_instances(OAI_HARVEST, run["dag_run_id"])}
    assert hosts <= set(celery_cluster.worker_names) and hosts
    with session_scope(archive) as session:
        harvested = set(session.scalars(select(OaiHarvestedItem.handle)))
        harvest_runs = session.execute(
            select(OaiHarvestRun.airflow_run_id, OaiHarvestRun.from_datestamp, OaiHarvestRun.until_datestamp)
        ).all()
    assert harvested == inside
    assert not harvested & (before | after)
    # Each run harvested exactly its data interval [start, end) as OAI from/until (inclusive, seconds).
    windows = {run["dag_run_id"]: (run["data_interval_start"], run["data_interval_end"]) for run in runs}
    assert {run_id: (start, until) for run_id, start, until in harvest_runs} == {
        run_id: (start, _second_before(end)) for run_id, (start, end) in windows.items()
    }


def _second_before(timestamp: str) -> str:
    moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")) - dt.timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_dry_run_lists_a_week_of_six_hourly_status_updates(celery_cluster):
    output = backfill(
        celery_cluster, STATUS_UPDATE, "--from-date", "2026-11-16", "--to-date", "2026-11-22T23:59:59", "--dry-run"
    )

    week = [
        f"{day:%Y-%m-%d} {hour:02d}:00:00+00:00"
        for day in (dt.date(2026, 11, 16) + dt.timedelta(days=offset) for offset in range(7))
        for hour in (0, 6, 12, 18)
    ]
    assert LISTED_DATE.findall(output) == week


def test_backfill_of_status_updates_settles_pending_wayback_jobs(celery_cluster, wayback_sandbox, archive, tmp_path):
    # Loopback URLs: the SPN2 sandbox never fetches them, and no other test's link check may reach outside.
    urls = [f"http://127.0.0.1/backfill/page-{index}" for index in range(5)]
    celery_cluster.ocw_operators("resources", "import", str(_resources_csv(tmp_path / "w.csv", "Wayback Site", urls)))
    jobs = {url: _submit_capture(wayback_sandbox, url) for url in urls}
    submitted_at = dt.datetime.now(dt.UTC)
    with session_scope(archive) as session:
        for resource in session.scalars(select(ExternalResource).where(ExternalResource.url.in_(urls))):
            resource.status = "valid"
            resource.wayback_status = "pending"
            resource.wayback_job_id = jobs[resource.url]
            resource.wayback_submitted_at = submitted_at

    backfill(
        celery_cluster,
        STATUS_UPDATE,
        "--from-date",
        "2026-11-16",
        "--to-date",
        "2026-11-16T18:00",
        "--max-active-runs",
        "2",
    )
    runs = wait_for_backfill_runs(celery_cluster, STATUS_UPDATE, expected=4)

    assert sorted(run["logical_date"] for run in runs) == [f"2026-11-16T{hour:02d}:00:00Z" for hour in (0, 6, 12, 18)]
    assert {run["state"] for run in runs} == {"success"}
    with session_scope(archive) as session:
        rows = {row.url: row for row in session.scalars(select(ExternalResource).where(ExternalResource.url.in_(urls)))}
        settled = {url: (row.wayback_status, row.wayback_url) for url, row in rows.items()}
    assert {status for status, _ in settled.values()} == {"success"}
    for url, (_, wayback_url) in settled.items():
        assert re.fullmatch(rf"https://web\.archive\.org/web/\d{{14}}/{re.escape(url)}", wayback_url), wayback_url


def _resources_csv(path, site: str, urls: list[str]):
    path.write_text("site_name,url\n" + "".join(f"{site},{url}\n" for url in urls))
    return path


def _submit_capture(base_url: str, url: str) -> str:
    """A capture job the sandbox knows, as if an earlier wayback_submit run had sent it."""
    from tests.integration.conftest import WAYBACK_ACCESS_KEY, WAYBACK_SECRET

    response = requests.post(
        f"{base_url}/save",
        data={"url": url},
        headers={"Authorization": f"LOW {WAYBACK_ACCESS_KEY}:{WAYBACK_SECRET}", "Accept": "application/json"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["job_id"]
