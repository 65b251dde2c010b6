"""The two DAGs as one system: ``ocw_course_retirement`` deposits, ``dspace_oai_harvest`` harvests and reconciles.

Both run under dag.test() against one sandbox DSpace store (SWORD deposits in, OAI-PMH out) and the sandbox CMS,
on SQLite and PostgreSQL archive DBs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ocw_operators.db.models.retirement import DSpaceFlag, RetirementState
from ocw_operators.retirement import state, steps
from tests.dags.e2e import next_logical_date, run_harvest, run_retirement, task_states
from tests.ocw_operators.retirement.sandbox_env import CMS_PASSWORD, COURSES, SWORD_PASSWORD, make_env

pytestmark = pytest.mark.airflow_e2e
S = RetirementState


@pytest.fixture
def retirement_dag(project_dags):
    return project_dags["ocw_course_retirement"]


@pytest.fixture
def harvest_dag(project_dags):
    return project_dags["dspace_oai_harvest"]


def succeeded(dag_run) -> None:
    assert str(dag_run.state) == "success", task_states(dag_run)


def items_for(sandbox, course_id: str) -> list:
    url = sandbox.cms.courses[course_id].url
    return [item for item in sandbox.store.items() if url in item.dublin_core.get("identifier.uri", [])]


def test_a_workflow_deposit_is_finished_by_the_harvest(retirement_dag, harvest_dag, deployment, capfd):
    sandbox, engine = deployment.sandbox, deployment.engine
    course_id = COURSES[0]
    sandbox.sword.workflow = True  # DSpace answers 202: accepted into the review workflow, no handle yet
    succeeded(run_retirement(retirement_dag, course_ids=[course_id]))
    assert state.load(engine, course_id).state == S.IN_WORKFLOW
    (item,) = sandbox.store.items()

    succeeded(run_harvest(harvest_dag))  # still in review: OAI-PMH does not list it, nothing is finished
    assert state.load(engine, course_id).state == S.IN_WORKFLOW and sandbox.cms.handle_calls == []

    sandbox.store.touch(item.handle, in_workflow=False)  # a reviewer approves the item
    succeeded(run_harvest(harvest_dag))
    record = state.load(engine, course_id)
    assert (record.state, record.dspace_handle, record.cms_confirmed) == (S.DONE, item.handle, True)
    assert sandbox.cms.courses[course_id].dspace_handle == item.handle
    assert sandbox.cms.handle_calls == [(course_id, f"hdl://{item.handle}")]

    # The retirement DAG's own follow-up finds nothing left to finish, and nothing is deposited again.
    later = run_retirement(retirement_dag, course_ids=[course_id])
    succeeded(later)
    assert task_states(later)[("finish_workflow_deposits", -1)] == "success"
    assert len(sandbox.store.items()) == 1 and len(sandbox.cms.handle_calls) == 1
    output = capfd.readouterr()
    assert CMS_PASSWORD not in output.out + output.err and SWORD_PASSWORD not in output.out + output.err


def test_a_withdrawn_item_flags_its_retirement(retirement_dag, harvest_dag, deployment):
    sandbox, engine = deployment.sandbox, deployment.engine
    withdrawn, kept = COURSES[0], COURSES[2]
    succeeded(run_retirement(retirement_dag, course_ids=[withdrawn, kept]))
    handle = state.load(engine, withdrawn).dspace_handle
    sandbox.store.touch(handle, withdrawn=True)  # a curator withdraws the item in DSpace

    succeeded(run_harvest(harvest_dag))

    record = state.load(engine, withdrawn)
    assert record.dspace_flag == DSpaceFlag.WITHDRAWN and record.dspace_flagged_at is not None
    assert handle in record.dspace_flag_reason
    assert record.state == S.DONE and record.dspace_handle == handle, "a flag never moves the state machine"
    assert state.load(engine, kept).dspace_flag is None
    assert len(sandbox.store.items()) == 2 and len(sandbox.cms.handle_calls) == 2


def test_a_deposit_never_seen_in_oai_is_flagged_missing_until_its_item_appears(retirement_dag, harvest_dag, deployment):
    sandbox, engine = deployment.sandbox, deployment.engine
    stuck, recent = COURSES[1], COURSES[2]
    sandbox.sword.workflow = True  # both wait for a reviewer; OAI-PMH lists neither
    succeeded(run_retirement(retirement_dag, course_ids=[stuck, recent]))
    when = next_logical_date()
    state.update(engine, stuck, deposited_at=when - dt.timedelta(days=20))
    state.update(engine, recent, deposited_at=when - dt.timedelta(days=2))

    succeeded(run_harvest(harvest_dag, logical_date=when, missing_after_days=14))

    record = state.load(engine, stuck)
    assert record.dspace_flag == DSpaceFlag.MISSING and record.state == S.IN_WORKFLOW
    assert "workflow" in record.dspace_flag_reason
    assert state.load(engine, recent).dspace_flag is None, "two days is not yet missing"

    # Weeks late, the reviewer approves it after all: the next harvest finishes it and clears the flag.
    (item,) = items_for(sandbox, stuck)
    sandbox.store.touch(item.handle, in_workflow=False)
    succeeded(run_harvest(harvest_dag, missing_after_days=14))
    record = state.load(engine, stuck)
    assert (record.state, record.dspace_handle, record.dspace_flag) == (S.DONE, item.handle, None)
    assert sandbox.cms.courses[stuck].dspace_handle == item.handle


def test_a_crash_after_dspace_accepted_is_finished_from_the_harvest_without_a_second_deposit(
    retirement_dag, harvest_dag, deployment, tmp_path
):
    sandbox, engine = deployment.sandbox, deployment.engine
    course_id = COURSES[0]
    # The retirement's steps up to the deposit, then the POST that DSpace accepts (201, a handle), then the
    # worker dies before the receipt is recorded: the record says "depositing" and knows no handle.
    env = make_env(sandbox, engine, tmp_path)
    assert (env.holding.root, env.retired) == (deployment.holding, deployment.retired)
    state.register(engine, [course_id])
    steps.fetch(engine, env.holding, env.cms, course_id)
    steps.package(engine, env.holding, course_id)
    steps.store(engine, env.retired, course_id)
    record = steps._claim_deposit(engine, course_id, env.collections.collection_for("history"), False)
    receipt = env.sword.deposit(Path(record.zip_path), md5=record.zip_md5, collection_handle=record.collection_handle)
    assert receipt.handle and state.load(engine, course_id).dspace_handle is None

    # Before any harvest has seen the item, a rerun refuses to deposit again and says why.
    refused = run_retirement(retirement_dag, course_ids=[course_id])
    assert task_states(refused)[("retire_course.deposit", 0)] == "failed"
    assert "may have created a DSpace item" in state.load(engine, course_id).last_error
    assert len(sandbox.store.items()) == 1

    succeeded(run_harvest(harvest_dag))
    succeeded(run_retirement(retirement_dag, course_ids=[course_id]))

    record = state.load(engine, course_id)
    assert (record.state, record.dspace_handle) == (S.DONE, receipt.handle)
    assert "existing item found" in record.deposit_receipt
    assert [item.handle for item in sandbox.store.items()] == [receipt.handle], "exactly one DSpace item"
    assert sandbox.cms.courses[course_id].dspace_handle == receipt.handle
