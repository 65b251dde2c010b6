"""End-to-end ``dag.test()`` runs of ``ocw_course_retirement`` against the sandbox DSpace and CMS."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocw_operators.db.models.retirement import RetirementState
from ocw_operators.retirement import state
from tests.dags.e2e import run_retirement as run
from tests.dags.e2e import task_states
from tests.ocw_operators.retirement.sandbox_env import CMS_PASSWORD, COURSES, SWORD_PASSWORD

pytestmark = pytest.mark.airflow_e2e


@pytest.fixture
def retirement_dag(project_dags):
    return project_dags["ocw_course_retirement"]


def test_manual_and_polled_retirements_end_to_end(retirement_dag, deployment, capfd):
    sandbox, engine = deployment.sandbox, deployment.engine
    dag_run = run(retirement_dag, course_ids=[COURSES[2]])
    assert str(dag_run.state) == "success", task_states(dag_run)
    dag_run = run(retirement_dag)  # no course ids: the hourly poll of the CMS retirement queue
    assert str(dag_run.state) == "success", task_states(dag_run)
    assert sandbox.cms.queue == [], task_states(dag_run)

    handles = {}
    for course_id in COURSES:
        record = state.load(engine, course_id)
        (item,) = [
            i for i in sandbox.store.items() if sandbox.cms.courses[course_id].url in i.dublin_core["identifier.uri"]
        ]
        assert record.state == RetirementState.DONE and record.dspace_handle == item.handle
        assert sandbox.cms.courses[course_id].dspace_handle == item.handle
        assert Path(record.zip_path).is_file() and record.zip_path.startswith(str(deployment.retired))
        handles[course_id] = item.handle
    labels = {ti.rendered_map_index for ti in dag_run.get_task_instances() if ti.task_id == "retire_course.deposit"}
    assert labels == set(COURSES[:2])  # each mapped task is labelled by its course id

    dag_run = run(retirement_dag, course_ids=COURSES)  # everything already retired: nothing is redone
    assert str(dag_run.state) == "success"
    assert len(sandbox.store.items()) == 3 and len(sandbox.cms.handle_calls) == 3
    output = capfd.readouterr()
    assert CMS_PASSWORD not in output.out + output.err and SWORD_PASSWORD not in output.out + output.err


def test_workflow_deposit_finished_by_a_later_run_and_dry_run(retirement_dag, deployment):
    sandbox, engine = deployment.sandbox, deployment.engine
    deployment.configure(sword_version=2)
    dry = run(retirement_dag, course_ids=[COURSES[0]], dry_run=True)
    assert str(dry.state) == "success"
    assert sandbox.store.items() == [] and not any(deployment.retired.rglob("*.zip"))
    assert state.load(engine, COURSES[0]).state == RetirementState.PACKAGED

    sandbox.sword.workflow = True
    dag_run = run(retirement_dag, course_ids=[COURSES[0]])
    assert str(dag_run.state) == "success", task_states(dag_run)
    assert task_states(dag_run)[("retire_course.set_cms_handle", 0)] == "skipped"
    assert state.load(engine, COURSES[0]).state == RetirementState.IN_WORKFLOW
    (item,) = sandbox.store.items()
    sandbox.store.touch(item.handle, in_workflow=False)
    sandbox.sword.workflow = False
    later = run(retirement_dag, course_ids=[COURSES[1]])
    assert str(later.state) == "success", task_states(later)
    record = state.load(engine, COURSES[0])
    assert record.state == RetirementState.DONE and record.dspace_handle == item.handle
    assert sandbox.cms.courses[COURSES[0]].dspace_handle == item.handle
    assert len(sandbox.store.items()) == 2


def test_bad_input_fails_the_course_clearly_and_leaves_others_alone(retirement_dag, deployment):
    from ocw_sandbox.cms import SandboxResource

    sandbox, engine = deployment.sandbox, deployment.engine
    sandbox.cms.courses[COURSES[1]].resources.append(SandboxResource(name="../../etc/passwd", content=b"x"))
    dag_run = run(retirement_dag, course_ids=[COURSES[0], COURSES[1], "history/no-such-course"])
    assert str(dag_run.state) == "failed"
    states = task_states(dag_run)
    assert states[("retire_course.record", 0)] == "success"
    assert states[("retire_course.fetch_resources", 1)] == "failed"
    assert states[("retire_course.fetch_resources", 2)] == "failed"
    assert "'..' components" in state.load(engine, COURSES[1]).last_error
    assert "HTTP 404" in state.load(engine, "history/no-such-course").last_error
    assert len(sandbox.store.items()) == 1
