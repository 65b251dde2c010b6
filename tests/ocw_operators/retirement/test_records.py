"""SqlRetirementRecords: the retirement side of the OAI-PMH reconciliation, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from ocw_operators.clients.cms import CmsError
from ocw_operators.db.models.retirement import DSpaceFlag, RetirementState
from ocw_operators.oai.reconcile import RetirementDeposit
from ocw_operators.retirement import state
from ocw_operators.retirement.records import SqlRetirementRecords
from ocw_sandbox.control import inject_fault
from tests.ocw_operators.retirement.sandbox_env import COURSES, record_deposit, retire

S = RetirementState
DEPOSITED_AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


class CountingCms:
    """Builds the CMS client on demand and counts how often it was asked to."""

    def __init__(self, client) -> None:
        self.client, self.built = client, 0

    def __call__(self):
        self.built += 1
        return self.client


@pytest.fixture
def records(env):
    cms = CountingCms(env.cms)
    return SqlRetirementRecords(env.engine, cms=cms), cms


def test_deposits_to_reconcile_are_the_unflagged_records_that_reached_dspace(env, records):
    retirements, _ = records
    engine = env.engine
    record_deposit(engine, "history/done", handle="1721.1/1", deposited_at=DEPOSITED_AT)
    record_deposit(engine, "history/review", handle=None, deposited_at=DEPOSITED_AT, record_state=S.IN_WORKFLOW)
    record_deposit(engine, "history/gone", handle="1721.1/2", deposited_at=DEPOSITED_AT)
    record_deposit(engine, "history/crashed", handle=None, deposited_at=None, record_state=S.DEPOSITING)
    state.register(engine, ["history/pending"])
    retirements.mark_withdrawn("history/gone", "1721.1/2", expunged=False)

    deposits = retirements.deposits_to_reconcile()

    assert deposits == [
        RetirementDeposit("history/done", DEPOSITED_AT, "1721.1/1", "https://ocw.mit.edu/courses/done/"),
        RetirementDeposit("history/review", DEPOSITED_AT, None, "https://ocw.mit.edu/courses/review/"),
    ]
    assert deposits[1].in_workflow


def test_flags_are_set_once_and_never_move_the_state(env, records):
    retirements, cms = records
    engine = env.engine
    record_deposit(engine, "history/a", handle="1721.1/1", deposited_at=DEPOSITED_AT)
    record_deposit(engine, "history/b", handle="1721.1/2", deposited_at=DEPOSITED_AT)

    retirements.mark_withdrawn("history/a", "1721.1/1", expunged=False)
    first = state.load(engine, "history/a")
    retirements.mark_withdrawn("history/a", "1721.1/1", expunged=False)
    retirements.mark_missing("history/a", waited=dt.timedelta(days=30))  # a withdrawn item is not "missing"
    again = state.load(engine, "history/a")
    assert (again.dspace_flag, again.dspace_flagged_at, again.state) == (DSpaceFlag.WITHDRAWN, first.dspace_flagged_at,
                                                                          S.DONE)  # fmt: skip
    assert "withdrew item 1721.1/1" in again.dspace_flag_reason

    retirements.mark_missing("history/b", waited=dt.timedelta(days=21))
    retirements.mark_withdrawn("history/b", "1721.1/2", expunged=True)  # found later: expunged is more precise
    record = state.load(engine, "history/b")
    assert record.dspace_flag == DSpaceFlag.EXPUNGED and "expunged" in record.dspace_flag_reason
    assert cms.built == 0, "flagging never needs the CMS"


def test_a_new_flag_clears_an_operators_acknowledgement_of_the_previous_one(env, records):
    retirements, _ = records
    engine = env.engine
    record_deposit(engine, "history/b", handle="1721.1/2", deposited_at=DEPOSITED_AT)
    retirements.mark_missing("history/b", waited=dt.timedelta(days=21))
    acknowledged_at = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    state.update(
        engine, "history/b", dspace_flag_acknowledged_by="curator", dspace_flag_acknowledged_at=acknowledged_at
    )

    retirements.mark_withdrawn("history/b", "1721.1/2", expunged=True)

    record = state.load(engine, "history/b")
    assert record.dspace_flag == DSpaceFlag.EXPUNGED
    assert (record.dspace_flag_acknowledged_by, record.dspace_flag_acknowledged_at) == ("", None)


def test_a_flag_for_another_handle_is_ignored(env, records):
    retirements, _ = records
    record_deposit(env.engine, "history/a", handle="1721.1/1", deposited_at=DEPOSITED_AT)
    retirements.mark_withdrawn("history/a", "1721.1/999", expunged=False)
    assert state.load(env.engine, "history/a").dspace_flag is None


def test_a_missing_workflow_deposit_stays_listed_and_is_finished_when_its_item_appears(env, records):
    retirements, cms = records
    course_id = COURSES[0]
    env.sandbox.sword.workflow = True
    retire(env, course_id)
    retirements.mark_missing(course_id, waited=dt.timedelta(days=15))
    record = state.load(env.engine, course_id)
    assert record.dspace_flag == DSpaceFlag.MISSING and "15 days" in record.dspace_flag_reason
    assert [deposit.course_id for deposit in retirements.deposits_to_reconcile()] == [course_id]

    (item,) = env.sandbox.store.items()
    retirements.finish_workflow(course_id, item.handle)
    retirements.finish_workflow(course_id, item.handle)  # a repeat does nothing more

    record = state.load(env.engine, course_id)
    assert (record.state, record.dspace_handle, record.dspace_flag, record.dspace_flag_reason) == (
        S.DONE, item.handle, None, "",
    )  # fmt: skip
    assert env.sandbox.cms.handle_calls == [(course_id, f"hdl://{item.handle}")]
    assert cms.built == 1, "the CMS client is built once, when first needed"


def test_a_cms_failure_while_finishing_leaves_it_resumable(env, records):
    retirements, _ = records
    course_id = COURSES[0]
    env.sandbox.sword.workflow = True
    retire(env, course_id)
    (item,) = env.sandbox.store.items()
    inject_fault(env.sandbox.cms_url, "set_dspace_handle", kind="status", status=502)
    with pytest.raises(CmsError, match="HTTP 502"):
        retirements.finish_workflow(course_id, item.handle)
    record = state.load(env.engine, course_id)
    assert (record.state, record.dspace_handle) == (S.DEPOSITED, item.handle), "the handle is kept"
    assert env.sandbox.cms.queue.count(course_id) == 1, "the CMS still lists the course for retirement"
    retire(env, course_id)  # so the retirement DAG's next poll resumes the course: CMS, then done
    assert state.load(env.engine, course_id).state == S.DONE
    assert env.sandbox.cms.courses[course_id].dspace_handle == item.handle
