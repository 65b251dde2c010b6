"""End-to-end runs of the external_resource_import DAG with dag.test(): archive DB state and the asset event."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_SITES = ROOT / "tests" / "fixtures" / "sites"
ASSET_URI = "ocw://external-resources/created"

pytestmark = pytest.mark.airflow_e2e


@pytest.fixture
def sites_dir(tmp_path) -> Path:
    target = tmp_path / "sites"
    shutil.copytree(FIXTURE_SITES, target)
    return target


@pytest.fixture
def import_dag():
    # A fresh DAG per test: dag.test(run_conf=...) leaves the conf in the DAG object's params.
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags["external_resource_import"]


def _asset_events(run_id: str) -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).where(
                AssetEvent.source_dag_id == "external_resource_import", AssetEvent.source_run_id == run_id
            )
        ).all()
        return [
            {"uri": event.asset.uri, "extra": dict(event.extra or {}), "task": event.source_task_id} for event in events
        ]


def _states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _created_ids(archive_url: str, run_id: str) -> list[int]:
    from ocw_operators.db import make_engine
    from ocw_operators.external_resources.store import created_resource_ids

    engine = make_engine(archive_url)
    try:
        return created_resource_ids(engine, run_id)
    finally:
        engine.dispose()


def _count(archive_url: str, table: str) -> int:
    from sqlalchemy import text

    from ocw_operators.db import make_engine

    engine = make_engine(archive_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.usefixtures("airflow_db")
def test_commit_run_creates_resources_and_emits_their_ids(
    archive_db_conn, import_dag, sites_dir, monkeypatch, tmp_path
):
    # The sites_dir Param is left empty, so the OCW_SITES_DIR Variable is read at run time.
    monkeypatch.setenv("AIRFLOW_VAR_OCW_SITES_DIR", str(sites_dir))
    report = tmp_path / "report.csv"
    dag_run = import_dag.test(
        run_conf={"commit": True, "out_csv": str(report)}, logical_date=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    )

    assert str(dag_run.state) == "success"
    assert _states(dag_run) == {"import_external_resources": "success", "announce_new_resources": "success"}
    created = _created_ids(archive_db_conn, dag_run.run_id)
    # 19 URLs, two linked from both courses: 20 resources, one per site and URL, and the Octave manual's page that
    # 18.06 already had, loaded as its resource.
    assert len(created) == _count(archive_db_conn, "external_resource") == 21
    assert _count(archive_db_conn, "external_resource_reference") > len(created)
    events = _asset_events(dag_run.run_id)
    assert events == [{"uri": ASSET_URI, "extra": {"resource_ids": created}, "task": "announce_new_resources"}]
    assert "resource_link" in (sites_dir / "18.06-spring-2010" / "content" / "pages" / "course-home.md").read_text()
    assert report.read_text().count("\n") > len(created)

    # A second run finds nothing left to convert: no new resources, so no announcement.
    rerun = import_dag.test(run_conf={"commit": True}, logical_date=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    assert str(rerun.state) == "success"
    assert _states(rerun)["announce_new_resources"] == "skipped"
    assert _asset_events(rerun.run_id) == []
    assert _count(archive_db_conn, "external_resource") == 21


# The form's defaults, and the same form with every optional field emptied (sent as null).
EMPTIED_FORM = {
    "commit": None,
    "out_csv": None,
    "published_only": None,
    "add_external_license_warning": None,
    "no_external_license_warning": None,
    "sites_dir": None,
    "site_names": None,
}


@pytest.mark.parametrize("conf", [None, EMPTIED_FORM], ids=["defaults", "emptied-form"])
def test_trigger_without_conf_is_a_dry_run_that_keeps_its_report(
    airflow_db, archive_db_conn, sites_dir, monkeypatch, tmp_path, capfd, conf
):
    # A fresh DAG object, so no earlier run's conf lingers in its params: exactly what the form's defaults give.
    from airflow.dag_processing.dagbag import DagBag

    import_dag = DagBag(dag_folder=str(ROOT / "dags")).dags["external_resource_import"]
    monkeypatch.setenv("AIRFLOW_VAR_OCW_SITES_DIR", str(sites_dir))
    monkeypatch.setenv("AIRFLOW_VAR_OCW_DATA_DIR", str(tmp_path / "data"))
    before = {path: path.read_bytes() for path in sites_dir.rglob("*") if path.is_file()}
    capfd.readouterr()

    dag_run = import_dag.test(run_conf=conf, logical_date=dt.datetime(2026, 3, 3, tzinfo=dt.UTC))

    logged = capfd.readouterr().out
    assert str(dag_run.state) == "success"
    assert _states(dag_run) == {"import_external_resources": "success", "announce_new_resources": "skipped"}
    # Named after the run, with the run id's ':' and '+' made safe for a file name.
    assert ":" in dag_run.run_id and "+" in dag_run.run_id
    (report,) = (tmp_path / "data" / "reports" / "external_resource_import").iterdir()
    assert report.name.startswith(dag_run.run_id.split("T")[0]) and report.suffix == ".csv"
    assert ":" not in report.name and "+" not in report.name
    rows = report.read_text().splitlines()
    assert rows[0].startswith("site_name,") and len(rows) > 15
    assert f"to {report}." in logged
    assert "Dry run over 2 sites (2 skipped, 0 with errors): 26 links and 4 menu items would be converted, " in logged
    assert "creating 20 external resources" in logged and "loading 1 external-resource page" in logged
    assert "Nothing was saved and no site file was changed" in logged
    assert _count(archive_db_conn, "external_resource") == 0
    assert {path: path.read_bytes() for path in sites_dir.rglob("*") if path.is_file()} == before


def test_site_errors_fail_the_run_but_resources_created_are_still_announced(
    airflow_db, archive_db_conn, import_dag, sites_dir
):
    broken = sites_dir / "18.06-spring-2010" / "content" / "pages" / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n[Link](https://example.com/broken)\n")
    dag_run = import_dag.test(
        run_conf={"sites_dir": str(sites_dir), "commit": True}, logical_date=dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    )
    assert str(dag_run.state) == "failed"
    assert _states(dag_run) == {"import_external_resources": "failed", "announce_new_resources": "success"}
    created = _created_ids(archive_db_conn, dag_run.run_id)
    assert created
    assert _asset_events(dag_run.run_id)[0]["extra"] == {"resource_ids": created}
    assert broken.read_text().endswith("[Link](https://example.com/broken)\n")  # the bad page is untouched
