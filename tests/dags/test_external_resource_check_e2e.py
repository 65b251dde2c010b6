"""``dag.test()`` of the weekly link check against the link-farm sandbox, asserting the archive DB."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources.file_import import ResourceRecord, import_records
from ocw_operators.external_resources.identity import resource_uuid

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow_e2e


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def link_farm(sandbox_runtime):
    from ocw_sandbox.linkfarm import make_linkfarm_app

    ports = sandbox_runtime.serve_many(make_linkfarm_app(), [0, 0])
    return [f"http://127.0.0.1:{port}" for port in ports]


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


EXPECTED = {
    "/ok": ("valid", 200),
    "/redirect/2": ("valid", 200),
    "/status/404": ("broken", 404),
    "/status/500": ("broken", 500),
    "/status/403": ("unchecked", 403),
    "/status/429": ("unchecked", 429),
    "/head-405": ("valid", 200),
    "/hang": ("check_failed", None),
}


def test_weekly_check_stores_every_status(airflow_db, archive_db_conn, archive_engine, link_farm, dag_bag, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_LINK_CHECK_TIMEOUT_SECONDS", "2")
    first, second = link_farm
    urls = {f"{first}{path}": expected for path, expected in EXPECTED.items()}
    urls[f"http://127.0.0.1:{_closed_port()}/refused"] = ("check_failed", None)
    urls[f"{second}/ok"] = ("valid", 200)
    excluded = f"{second}/status/404"
    records = [ResourceRecord(resource_uuid("course-a", url), "course-a", url, "a") for url in urls]
    records.append(ResourceRecord(resource_uuid("course-b", excluded), "course-b", excluded, "b"))
    with session_scope(archive_engine) as session:
        import_records(session, records)

    run = dag_bag.dags["external_resource_check"].test(run_conf={"site_filter": [], "exclude": ["b"]})

    assert run.state == "success"
    labels = [ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "check_batch"]
    assert labels and all(label and label.startswith("resources ") for label in labels), labels
    with session_scope(archive_engine) as session:
        rows = {row.url: row for row in session.scalars(select(ExternalResource))}
    for url, (status, code) in urls.items():
        assert (rows[url].status, rows[url].external_url_response_code) == (status, code), url
        assert rows[url].last_checked is not None
    assert rows[excluded].status == "unchecked" and rows[excluded].last_checked is None
    assert "timeout" in rows[f"{first}/hang"].check_error


def test_disabled_check_skips_without_touching_the_db(
    airflow_db, archive_db_conn, archive_engine, link_farm, dag_bag, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_ENABLE_CHECK_EXTERNAL_RESOURCE_TASK", "false")
    url = f"{link_farm[0]}/ok"
    with session_scope(archive_engine) as session:
        import_records(session, [ResourceRecord(resource_uuid("s", url), "s", url)])

    run = dag_bag.dags["external_resource_check"].test()

    assert run.state == "success"
    with session_scope(archive_engine) as session:
        assert session.scalars(select(ExternalResource.status)).one() == "unchecked"


def _checked_asset_extras(run_id: str) -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select as sa_select

    with create_session() as session:
        events = session.scalars(
            sa_select(AssetEvent).where(
                AssetEvent.source_dag_id == "external_resource_check", AssetEvent.source_run_id == run_id
            )
        ).all()
        return [dict(event.extra or {}) for event in events if event.asset.uri == "ocw://external-resources/checked"]


@pytest.mark.parametrize(("batch_size", "batches"), [(100, "1 batch"), (2, "3 batches")], ids=["one", "three"])
def test_summary_adds_up_every_batch(
    airflow_db, archive_db_conn, archive_engine, link_farm, dag_bag, monkeypatch, capfd, batch_size, batches
):
    # With one mapped batch, pulling the mapped task's XCom by a single task id gives that batch's dict, whose
    # keys a summary that expects a list would count letter by letter.
    monkeypatch.setenv("AIRFLOW_VAR_LINK_CHECK_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("AIRFLOW_VAR_LINK_CHECK_BATCH_SIZE", str(batch_size))
    base = link_farm[0]
    urls = [f"{base}/ok", f"{base}/redirect/1", f"{base}/status/404", f"{base}/status/500", f"{base}/status/403"]
    with session_scope(archive_engine) as session:
        import_records(session, [ResourceRecord(resource_uuid("course-s", url), "course-s", url, "s") for url in urls])
    capfd.readouterr()

    run = dag_bag.dags["external_resource_check"].test(run_conf={"site_filter": ["course-s"], "exclude": []})

    logged = capfd.readouterr().out
    assert run.state == "success"
    assert len([ti for ti in run.get_task_instances() if ti.task_id == "check_batch"]) == int(batches.split()[0])
    assert _checked_asset_extras(run.run_id) == [{"counts": {"valid": 2, "broken": 2, "unchecked": 1}}]
    assert f"Link check finished: 5 resources checked in {batches}: 2 valid, 2 broken, 1 unchecked." in logged
    assert f"Selected 5 external resources to check (sites: course-s; excluded: none), in {batches}" in logged
    if batches == "1 batch":
        assert "Checked 5 resources: 2 valid, 2 broken, 1 unchecked." in logged


def test_emptied_form_fields_check_every_site(airflow_db, archive_db_conn, archive_engine, link_farm, dag_bag):
    # The trigger form sends null for an optional field the operator emptied.
    urls = [f"{link_farm[0]}/ok", f"{link_farm[1]}/ok"]
    records = [ResourceRecord(resource_uuid(site, url), site, url, site) for site, url in zip("ab", urls, strict=True)]
    with session_scope(archive_engine) as session:
        import_records(session, records)

    run = dag_bag.dags["external_resource_check"].test(run_conf={"site_filter": None, "exclude": None})

    assert run.state == "success"
    with session_scope(archive_engine) as session:
        assert sorted(session.scalars(select(ExternalResource.status))) == ["valid", "valid"]
