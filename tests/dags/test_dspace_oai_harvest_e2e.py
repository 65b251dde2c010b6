"""End to end: the dspace_oai_harvest DAG under dag.test() against the sandbox DSpace OAI-PMH endpoint.

How its reconciliation meets the course retirements is in test_retirement_reconciliation_e2e.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ocw_operators.db import make_engine
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.oai import OaiHarvestedItem, OaiHarvestRun
from tests.dags.e2e import run_harvest
from tests.ocw_operators.oai import support
from tests.ocw_operators.oai.support import OCW_SET, add_courses


@pytest.mark.airflow_e2e
def test_daily_run_harvests_the_set_and_reconciles_without_retirements(
    project_dags, archive_db_conn, sandbox_runtime, monkeypatch
):
    sandbox = support.start_oai_sandbox(sandbox_runtime)
    store, clock = sandbox.store, sandbox.clock
    _published, withdrawn = add_courses(store, clock, 2)
    add_courses(store, clock, 150, first=100)
    (in_review,) = add_courses(store, clock, 1, first=7, in_workflow=True)
    store.touch(withdrawn.handle, withdrawn=True)
    store.touch(in_review.handle, in_workflow=False)
    monkeypatch.setenv("AIRFLOW_CONN_DSPACE_OAI_DEFAULT", sandbox.connection_json(set_spec=OCW_SET))
    # No CMS Connection: with nothing to finish, reconciliation never needs one.
    monkeypatch.delenv("AIRFLOW_CONN_OCW_CMS_DEFAULT", raising=False)

    dag_run = run_harvest(project_dags["dspace_oai_harvest"], logical_date=dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC),
                          missing_after_days=30)  # fmt: skip

    assert dag_run.state == "success"
    engine = make_engine(archive_db_conn)
    try:
        with session_scope(engine) as session:
            assert session.scalar(select(func.count()).select_from(OaiHarvestedItem)) == 153
            assert session.get(OaiHarvestedItem, withdrawn.handle).deleted
            (run,) = session.scalars(select(OaiHarvestRun)).all()
            assert (run.status, run.mode, run.pages, run.records) == ("complete", "incremental", 2, 153)
            assert run.airflow_run_id == dag_run.run_id
    finally:
        engine.dispose()
    reconcile_ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "reconcile")
    assert str(reconcile_ti.state) == "success"
