"""Reconciliation outcomes over the harvested-items table, with the retirement side faked in memory."""

from __future__ import annotations

import datetime as dt

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.oai import HarvestMode
from ocw_operators.oai.harvest import HarvestRequest, HarvestScope, OaiHarvester
from ocw_operators.oai.reconcile import (
    HarvestedItemView,
    Outcome,
    ReconcileReport,
    RetirementDeposit,
    SqlHarvestedItems,
    existing_item_lookup,
    reconcile,
)
from tests.ocw_operators.oai.support import (
    OCW_SET,
    FakeRetirement,
    FakeRetirementRecords,
    add_courses,
    course_uri,
)

MISSING_AFTER = dt.timedelta(days=14)


def harvest(sandbox, engine, mode=HarvestMode.FULL) -> None:
    scope = HarvestScope(endpoint=sandbox.base_url, set_spec=OCW_SET)
    OaiHarvester(engine, sandbox.client(), scope, clock=sandbox.clock).harvest(HarvestRequest(mode))


def run_reconcile(engine, retirements, now):
    with session_scope(engine) as session:
        return reconcile(retirements, SqlHarvestedItems(session), now=now, missing_after=MISSING_AFTER)


def test_every_outcome_is_decided_and_applied(oai_sandbox, archive_engine):
    store, clock = oai_sandbox.store, oai_sandbox.clock
    published, withdrawn, expunged = add_courses(store, clock, 3)
    (finished_later,) = add_courses(store, clock, 1, first=3, in_workflow=True)
    deposited_at = clock()
    harvest(oai_sandbox, archive_engine)  # expunged is harvested once, then disappears
    store.touch(withdrawn.handle, withdrawn=True)
    store.expunge(expunged.handle)
    store.touch(finished_later.handle, in_workflow=False)  # the reviewer approved the 202 deposit
    harvest(oai_sandbox, archive_engine)

    retirements = FakeRetirementRecords()
    for course_id, item in (("published", published), ("withdrawn", withdrawn), ("expunged", expunged)):
        retirements.add(FakeRetirement(course_id, deposited_at, handle=item.handle, course_uri=course_uri(0)))
    retirements.add(FakeRetirement("workflow", deposited_at, course_uri=course_uri(3), state="workflow"))
    retirements.add(FakeRetirement("still-in-review", deposited_at, course_uri=course_uri(99), state="workflow"))
    retirements.add(FakeRetirement("lost", deposited_at - dt.timedelta(days=20), handle="1721.1/999999"))
    retirements.add(FakeRetirement("too-early", deposited_at, handle="1721.1/999998"))

    report = run_reconcile(archive_engine, retirements, now=deposited_at + dt.timedelta(days=1))

    assert report.outcomes == {
        "published": Outcome.PUBLISHED,
        "withdrawn": Outcome.WITHDRAWN,
        "expunged": Outcome.EXPUNGED,
        "workflow": Outcome.WORKFLOW_FINISHED,
        "still-in-review": Outcome.NOT_YET_VISIBLE,
        "lost": Outcome.MISSING,
        "too-early": Outcome.NOT_YET_VISIBLE,
    }
    assert sorted(retirements.calls) == sorted(
        [
            ("withdrawn", "withdrawn", withdrawn.handle, False),
            ("withdrawn", "expunged", expunged.handle, True),
            ("finished", "workflow", finished_later.handle),
            ("missing", "lost", 21),
        ]
    )
    assert retirements.retirements["workflow"].cms_handle == finished_later.handle
    assert report.summary() == (
        "Reconciled 7 deposit(s) with DSpace's OAI-PMH items: 1 published, 1 withdrawn, 1 expunged, "
        "1 finished from DSpace's review workflow, 1 missing, 2 not yet visible in OAI-PMH"
    )
    assert report.course_messages() == [
        (True, f"expunged (hdl:{expunged.handle}): flagged expunged from DSpace: item {expunged.handle} is expunged"),
        (True, "lost (hdl:1721.1/999999): flagged missing from OAI-PMH: not seen for 21 days"),
        (
            True,
            f"withdrawn (hdl:{withdrawn.handle}): flagged withdrawn in DSpace: item {withdrawn.handle} is withdrawn",
        ),
        (False, f"workflow: DSpace's workflow archived the item as hdl:{finished_later.handle}; handle set in the CMS"),
    ]

    # A second pass flags nothing again: flagged deposits left the retirement side's open states.
    retirements.calls.clear()
    again = run_reconcile(archive_engine, retirements, now=deposited_at + dt.timedelta(days=2))
    assert retirements.calls == []
    assert again.outcomes["workflow"] == Outcome.PUBLISHED, "a finished workflow deposit is now a normal deposit"


def test_a_workflow_deposit_that_never_appears_becomes_missing(oai_sandbox, archive_engine):
    harvest(oai_sandbox, archive_engine)
    deposited = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    retirements = FakeRetirementRecords()
    retirements.add(FakeRetirement("slow-review", deposited, course_uri=course_uri(5), state="workflow"))
    report = run_reconcile(archive_engine, retirements, now=deposited + MISSING_AFTER)
    assert report.outcomes == {"slow-review": Outcome.MISSING}
    assert report.counts == {"missing": 1}
    assert report.course_messages() == [(True, "slow-review (no handle yet): flagged missing from OAI-PMH: not seen "
                                               "for 14 days")]  # fmt: skip


def test_a_deposit_flagged_before_is_named_without_a_new_reason():
    report = ReconcileReport(outcomes={"history/x": Outcome.MISSING}, handles={"history/x": None},
                             reasons={"history/x": None})  # fmt: skip
    assert report.course_messages() == [
        (True, "history/x (no handle yet): missing from OAI-PMH; already flagged on its record")
    ]
    assert ReconcileReport().summary() == "No deposit to reconcile with DSpace's OAI-PMH items"


def test_existing_item_lookup_finds_a_course_under_a_rewritten_uri(oai_sandbox, archive_engine):
    store, clock = oai_sandbox.store, oai_sandbox.clock
    live, withdrawn, gone = add_courses(store, clock, 3)
    harvest(oai_sandbox, archive_engine)
    store.touch(withdrawn.handle, withdrawn=True)
    store.expunge(gone.handle)
    harvest(oai_sandbox, archive_engine)
    lookup = existing_item_lookup(archive_engine)
    assert lookup("http://www.ocw.mit.edu/courses/course-0") == live.handle
    assert lookup(course_uri(1)) == withdrawn.handle, "a withdrawn item still blocks an automatic re-deposit"
    assert lookup(course_uri(2)) is None, "an expunged item does not"
    assert lookup("https://ocw.mit.edu/courses/never-deposited/") is None
    assert lookup("") is None


def test_a_live_item_wins_over_a_withdrawn_one_for_the_same_course(oai_sandbox, archive_engine):
    store, clock = oai_sandbox.store, oai_sandbox.clock
    (old,) = add_courses(store, clock, 1)
    store.touch(old.handle, withdrawn=True)
    (new,) = add_courses(store, clock, 1)  # the course deposited again on purpose, same URI
    harvest(oai_sandbox, archive_engine)
    assert existing_item_lookup(archive_engine)(course_uri(0)) == new.handle


class StaticItems:
    """HarvestedItems without a database, to pin the decision rules on their own."""

    def __init__(self, items: dict[str, HarvestedItemView], uris: dict[str, str]) -> None:
        self.items, self.uris = items, uris

    def get(self, handle):
        return self.items.get(handle)

    def handle_for_uri(self, uri):
        return self.uris.get(uri)


def test_the_missing_threshold_is_measured_from_the_deposit():
    deposited = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    retirements = FakeRetirementRecords()
    retirements.add(FakeRetirement("c", deposited, handle="1721.1/1"))
    items = StaticItems({}, {})
    just_before = reconcile(retirements, items, now=deposited + MISSING_AFTER - dt.timedelta(seconds=1),
                            missing_after=MISSING_AFTER)  # fmt: skip
    assert just_before.outcomes == {"c": Outcome.NOT_YET_VISIBLE} and retirements.calls == []
    at = reconcile(retirements, items, now=deposited + MISSING_AFTER, missing_after=MISSING_AFTER)
    assert at.outcomes == {"c": Outcome.MISSING}


def test_deposit_naive_times_are_read_as_utc():
    deposit = RetirementDeposit("c", dt.datetime(2026, 3, 1), handle=None, course_uri=None)
    assert deposit.in_workflow
    retirements = FakeRetirementRecords()
    retirements.add(FakeRetirement("c", dt.datetime(2026, 3, 1), state="workflow"))
    report = reconcile(retirements, StaticItems({}, {}), now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
                       missing_after=MISSING_AFTER)  # fmt: skip
    assert report.outcomes == {"c": Outcome.MISSING}
