"""End to end: the dspace_oai_harvest DAG under dag.test() against the sandbox DSpace OAI-PMH endpoint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ocw_operators.db import make_engine
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.oai import OaiHarvestedItem, OaiHarvestRun
from tests.ocw_operators.oai import support
from tests.ocw_operators.oai.support import OCW_SET, FakeRetirement, FakeRetirementRecords, add_courses, course_uri

DAGS = Path(__file__).resolve().parents[2] / "dags"
FACTORY = "tests.ocw_operators.oai.support:current_retirement_records"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags["dspace_oai_harvest"]


@pytest.mark.airflow_e2e
def test_daily_run_harvests_and_reconciles(dag, airflow_db, archive_db_conn, sandbox_runtime, monkeypatch):
    sandbox = support.start_oai_sandbox(sandbox_runtime)
    store, clock = sandbox.store, sandbox.clock
    published, withdrawn = add_courses(store, clock, 2)
    add_courses(store, clock, 150, first=100)
    (in_review,) = add_courses(store, clock, 1, first=7, in_workflow=True)
    deposited_at = clock()
    store.touch(withdrawn.handle, withdrawn=True)
    store.touch(in_review.handle, in_workflow=False)

    fake = FakeRetirementRecords()
    fake.add(FakeRetirement("published", deposited_at, handle=published.handle, course_uri=course_uri(0)))
    fake.add(FakeRetirement("withdrawn", deposited_at, handle=withdrawn.handle, course_uri=course_uri(1)))
    fake.add(FakeRetirement("review", deposited_at, course_uri=course_uri(7), state="workflow"))
    monkeypatch.setattr(support, "CURRENT_RETIREMENTS", fake)
    monkeypatch.setenv("AIRFLOW_CONN_DSPACE_OAI_DEFAULT", sandbox.connection_json(set_spec=OCW_SET))
    monkeypatch.setenv("AIRFLOW_VAR_OCW_OAI_RETIREMENT_RECORDS", FACTORY)

    dag_run = dag.test(logical_date=dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC), run_conf={"missing_after_days": 30})

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
    assert sorted(fake.calls) == [
        ("finished", "review", in_review.handle),
        ("withdrawn", "withdrawn", withdrawn.handle, False),
    ]
    assert fake.retirements["review"].cms_handle == in_review.handle
