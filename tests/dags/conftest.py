"""Fixtures for the ``dag.test()`` runs: the project's DAGs, and a deployment configured against the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dags.e2e import Deployment

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="session")
def project_dags(airflow_db) -> dict:
    """Every DAG of ``dags/``, parsed once (dag.test() needs DAGs from the DAG folder, not built inline)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture
def deployment(sandbox, archive_db_conn, archive_engine, tmp_path, monkeypatch) -> Deployment:
    """SWORD v1, CMS, OAI-PMH Connections and the directory Variables, all pointing at a fresh sandbox."""
    deployed = Deployment(sandbox, archive_engine, tmp_path / "holding", tmp_path / "RetiredCourseZips", monkeypatch)
    deployed.configure()
    return deployed
