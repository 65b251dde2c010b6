"""The policy gate's ``DagBag.get_dag`` consults Airflow's metadata DB (``DagModel.get_current``), so the
private metadata DB must be migrated before any policy test runs."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _migrated_airflow_metadata_db(airflow_db):
    return airflow_db
