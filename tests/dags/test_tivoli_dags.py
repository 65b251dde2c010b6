"""End to end: the Tivoli DAGs from the dags folder under dag.test(), with the sandbox's fake dsmc."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from ocw_operators.db.engine import make_engine, session_scope
from ocw_operators.db.models.tivoli import FileState, LoadStatus, TivoliFileLog, TivoliHeldVolume, TivoliLoadBatch
from tests.ocw_operators.tivoli.conftest import LONG_AGO, FolderLock, put, settle, tree

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tivoli_dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    return {dag_id: bag.dags[dag_id] for dag_id in ("tivoli_dropbox_prep", "tivoli_nightly_load", "tivoli_retrieve")}


def _run(dag, **kwargs):
    from airflow.utils.state import DagRunState

    run = dag.test(logical_date=dt.datetime.now(dt.UTC), **kwargs)
    assert run.state == DagRunState.SUCCESS, f"{dag.dag_id} ended {run.state}"
    return run


@pytest.mark.airflow_e2e
def test_prepare_load_and_retrieve_through_the_dags(tivoli_dags, archive_db_conn, tmp_path, monkeypatch):
    dropbox, staging, vault = tmp_path / "DROPBOX", tmp_path / "staging", tmp_path / "vault"
    dropbox.mkdir()
    staging.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DROPBOX_DIR", str(dropbox))
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_STAGING_DIR", str(staging))
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_QUIET_MINUTES", "5")
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DSMC_COMMAND", f"{shlex.quote(sys.executable)} -m ocw_sandbox.fake_dsmc")
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_RETRIEVE_ROOT", str(tmp_path))
    monkeypatch.setenv("OCW_FAKE_DSMC_VAULT", str(vault))
    put(dropbox / "UF12345678_00001" / "00001.tif", "tiff one")
    put(dropbox / "UF12345678_00001" / "UF12345678_00001.mets", "<mets/>")
    put(dropbox / "UF87654321" / "VID00002" / "images" / "a.jp2", "jp2")
    put(dropbox / "DLOC" / "CA00001234" / "00001" / "x.tif", "intermediary")
    settle(dropbox, LONG_AGO)

    _run(tivoli_dags["tivoli_dropbox_prep"])
    assert sorted(tree(staging)) == [
        "UF/12/34/56/78/00001/00001.tif",
        "UF/12/34/56/78/00001/UF12345678_00001.mets",
        "UF/87/65/43/21/00002/images/a.jp2",
    ]
    assert sorted(tree(dropbox)) == ["DLOC/CA00001234/00001/x.tif"], "the intermediary folder is left alone"

    _run(tivoli_dags["tivoli_nightly_load"])
    assert tree(staging) == {}
    engine = make_engine(archive_db_conn)
    try:
        with session_scope(engine) as session:
            states = set(session.scalars(select(TivoliFileLog.state)))
            batch = session.scalars(select(TivoliLoadBatch)).one()
    finally:
        engine.dispose()
    assert states == {FileState.ARCHIVED}
    assert (batch.status, batch.files_archived, batch.files_deleted) == (LoadStatus.SUCCEEDED, 3, 3)

    destination = tmp_path / "requests" / "patron-42"
    _run(
        tivoli_dags["tivoli_retrieve"],
        run_conf={"bibid": "UF87654321", "vid": "00002", "versions": "all", "destination": str(destination)},
    )
    assert tree(destination) == {"UF87654321_00002/images/a.jp2": b"jp2"}


@pytest.mark.airflow_e2e
def test_a_held_volume_fails_the_prep_run_once_the_others_are_staged(
    tivoli_dags, archive_db_conn, tmp_path, monkeypatch
):
    from airflow.utils.state import DagRunState, TaskInstanceState

    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    dropbox.mkdir()
    staging.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DROPBOX_DIR", str(dropbox))
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_STAGING_DIR", str(staging))
    put(dropbox / "UF11111111_00001" / "a.tif", "a")
    put(dropbox / "UF22222222_00001" / "b.tif", "b")
    settle(dropbox, LONG_AGO)
    FolderLock(dropbox / "UF11111111_00001", real=False, monkeypatch=monkeypatch).lock()

    run = tivoli_dags["tivoli_dropbox_prep"].test(logical_date=dt.datetime.now(dt.UTC))
    assert run.state == DagRunState.FAILED
    (task,) = run.get_task_instances()
    assert (task.state, task.try_number) == (TaskInstanceState.FAILED, 1), "failed at once, not retried"
    assert tree(staging) == {"UF/22/22/22/22/00001/b.tif": b"b"}
    assert tree(dropbox) == {"UF11111111_00001/a.tif": b"a"}
    engine = make_engine(archive_db_conn)
    try:
        with session_scope(engine) as session:
            held = session.scalars(select(TivoliHeldVolume)).all()
    finally:
        engine.dispose()
    assert [(row.bibid, row.error_code, row.released_at) for row in held] == [("UF11111111", "EPERM", None)]
