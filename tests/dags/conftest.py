"""DAG tests read DagModel rows (``DagBag.get_dag`` checks for expired DAGs), so the metadata DB must exist."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _migrated_airflow_metadata_db(airflow_db):
    return airflow_db
