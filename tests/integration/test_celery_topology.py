"""DAGs run end to end on the local CeleryExecutor cluster; results asserted in the archive DB on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from html import escape
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource

pytestmark = pytest.mark.integration

LINK_CHECK = "external_resource_check"
HOSTS = 6
# Path on a link-farm host -> (status, response code) the weekly check must store.
EXPECTED = {
    "/ok": ("valid", 200),
    "/redirect/2": ("valid", 200),
    "/head-405": ("valid", 200),
    "/status/404": ("broken", 404),
    "/status/500": ("broken", 500),
    "/status/403": ("unchecked", 403),
    "/status/429": ("unchecked", 429),
}
COPIES_PER_HOST = 11  # 6 hosts x 7 paths x 11 = 462 resources -> 5 mapped batches of up to 100
RUN_TIMEOUT_S = 150


@pytest.fixture(scope="module")
def link_farm(sandbox_runtime) -> list[str]:
    from ocw_sandbox.linkfarm import make_linkfarm_app

    ports = sandbox_runtime.serve_many(make_linkfarm_app(), [0] * HOSTS)
    return [f"http://127.0.0.1:{port}" for port in ports]


@pytest.fixture(scope="module")
def archive(celery_cluster):
    engine = create_engine(celery_cluster.archive_db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def link_check_dag(celery_cluster) -> str:
    celery_cluster.wait_for_dag(LINK_CHECK)
    celery_cluster.unpause(LINK_CHECK)
    return LINK_CHECK


def write_resources_csv(path: Path, site: str, urls: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["site_name", "site_short_id", "url", "title"])
        for index, url in enumerate(urls):
            writer.writerow([site, site.lower(), url, f"{site} link {index}"])
    return path


def import_resources(cluster, path: Path) -> dict:
    """Load resources with the project's CLI, as an operator would (``python -m ocw_operators resources import``)."""
    return json.loads(cluster.ocw_operators("resources", "import", str(path)).stdout.strip().splitlines()[-1])


def stored(engine, urls: list[str]) -> dict[str, ExternalResource]:
    with session_scope(engine) as session:
        rows = session.scalars(select(ExternalResource).where(ExternalResource.url.in_(urls))).all()
        session.expunge_all()
    return {row.url: row for row in rows}


def test_weekly_link_check_runs_on_both_workers_and_stores_statuses(
    celery_cluster, link_check_dag, link_farm, archive, tmp_path
):
    expected = {
        f"{host}{path}?copy={copy}": outcome
        for host in link_farm
        for path, outcome in EXPECTED.items()
        for copy in range(COPIES_PER_HOST)
    }
    summary = import_resources(celery_cluster, write_resources_csv(tmp_path / "r.csv", "Course A", list(expected)))
    assert summary["created"] == len(expected)

    # Only this test's site: other tests of the session add resources of their own.
    run_id = celery_cluster.trigger(link_check_dag, conf={"site_filter": ["course a"]})
    run = celery_cluster.wait_for_run(link_check_dag, run_id, RUN_TIMEOUT_S)

    assert run["state"] == "success"
    instances = celery_cluster.task_instances(link_check_dag, run_id)
    # The site-files write-back is skipped: this cluster has no OCW_SITES_DIR.
    states = {ti["task_id"]: ti["state"] for ti in instances if ti["task_id"] != "check_batch"}
    assert states == {"list_batches": "success", "summarize": "success", "write_site_files": "skipped"}
    assert {ti["state"] for ti in instances if ti["task_id"] == "check_batch"} == {"success"}
    batches = [ti for ti in instances if ti["task_id"] == "check_batch"]
    assert len(batches) == math.ceil(len(expected) / 100)
    assert all(ti["rendered_map_index"].startswith("resources ") for ti in batches)
    # Pool link_check admits 4 batches at once and each worker takes at most 2: both must have run tasks.
    assert {ti["hostname"] for ti in instances} == set(celery_cluster.worker_names)

    assert archive.dialect.name == "postgresql"
    rows = stored(archive, list(expected))
    assert len(rows) == len(expected)
    for url, (status, code) in expected.items():
        assert (rows[url].status, rows[url].external_url_response_code) == (status, code), url
        assert rows[url].last_checked is not None, url
    totals = celery_cluster.api.get(
        f"/api/v2/dags/{link_check_dag}/dagRuns/{run_id}/taskInstances/summarize/xcomEntries/return_value"
    )["value"]
    assert sum(totals.values()) == len(expected)

    # The run's Archive tab, served by the plugin on this cluster's API server over the PostgreSQL archive DB.
    tab = celery_cluster.api.session.get(
        f"{celery_cluster.api.base_url}/archive/runs/{link_check_dag}/{quote(run_id, safe='')}", timeout=30
    )
    assert tab.status_code == 200, tab.text[:500]
    assert "Links checked" in tab.text
    assert escape(next(iter(expected))) in tab.text  # the first page lists the run's links in id order
    listed = celery_cluster.api.session.get(
        f"{celery_cluster.api.base_url}/archive/runs/{link_check_dag}/{quote(run_id, safe='')}",
        params={"format": "csv", "table": "checked"},
        timeout=30,
    )
    assert {row["URL"]: row["Status"] for row in csv.DictReader(io.StringIO(listed.text))} == {
        url: status for url, (status, _code) in expected.items()
    }


def test_cli_trigger_with_params_checks_only_the_chosen_site(
    celery_cluster, link_check_dag, link_farm, archive, tmp_path
):
    chosen = [f"{host}/ok?site=b" for host in link_farm] + [f"{link_farm[0]}/status/410?site=b"]
    other = [f"{host}/status/404?site=c" for host in link_farm]
    import_resources(celery_cluster, write_resources_csv(tmp_path / "b.csv", "Course B", chosen))
    import_resources(celery_cluster, write_resources_csv(tmp_path / "c.csv", "Course C", other))
    run_id = f"cli__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"

    celery_cluster.airflow(
        "dags", "trigger", link_check_dag, "--run-id", run_id, "--conf", json.dumps({"site_filter": ["course b"]})
    )
    run = celery_cluster.wait_for_run(link_check_dag, run_id, RUN_TIMEOUT_S)

    assert run["state"] == "success"
    assert run["conf"] == {"site_filter": ["course b"]}
    rows = stored(archive, chosen + other)
    assert {url: rows[url].status for url in chosen} == {**dict.fromkeys(chosen[:-1], "valid"), chosen[-1]: "broken"}
    assert all(rows[url].status == "unchecked" and rows[url].last_checked is None for url in other)
