"""Harvesting into the archive DB (SQLite and PostgreSQL): watermark, resume, windows, deletions, caveats."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ocw_operators.db.base import as_utc
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.oai import (
    HarvestMode,
    HarvestRunStatus,
    OaiHarvestedItem,
    OaiHarvestRun,
    OaiHarvestState,
)
from ocw_operators.oai.harvest import HarvestRequest, HarvestScope, OaiHarvester
from ocw_operators.oai.records import Granularity
from ocw_sandbox.oai import oai_error_body
from tests.ocw_operators.oai.support import OCW_SET, START, add_courses

INCREMENTAL = HarvestRequest(HarvestMode.INCREMENTAL)
FULL = HarvestRequest(HarvestMode.FULL)


class Interrupted(RuntimeError):
    pass


def harvester(sandbox, engine, *, set_spec=OCW_SET, after_page=None, **kwargs) -> OaiHarvester:
    scope = HarvestScope(endpoint=sandbox.base_url, set_spec=set_spec)
    return OaiHarvester(engine, sandbox.client(), scope, clock=sandbox.clock, after_page=after_page, **kwargs)


def items(engine) -> dict[str, OaiHarvestedItem]:
    with session_scope(engine) as session:
        return {item.handle: item for item in session.scalars(select(OaiHarvestedItem))}


def state(engine, set_spec: str = OCW_SET) -> OaiHarvestState:
    with session_scope(engine) as session:
        return session.scalars(select(OaiHarvestState).where(OaiHarvestState.set_spec == set_spec)).one()


def runs(engine) -> list[OaiHarvestRun]:
    with session_scope(engine) as session:
        return list(session.scalars(select(OaiHarvestRun).order_by(OaiHarvestRun.id)))


def interrupt_after(pages: int):
    seen = []

    def after_page(page):
        seen.append(page)
        if len(seen) == pages:
            raise Interrupted(f"worker lost after page {pages}")

    return after_page


def test_first_harvest_stores_every_item_and_sets_the_watermark(oai_sandbox, archive_engine):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 250)
    add_courses(oai_sandbox.store, oai_sandbox.clock, 5, first=900, collection="1721.1/40000")  # another set
    result = harvester(oai_sandbox, archive_engine).harvest(INCREMENTAL)
    assert (result.pages, result.records, result.resumed) == (3, 250, False)
    stored = items(archive_engine)
    assert len(stored) == 250
    item = stored["1721.1/100001"]
    assert (item.title, item.identifier_uri, item.deleted) == (
        "Course 0",
        "https://ocw.mit.edu/courses/course-0/",
        False,
    )
    assert item.identifier_key == "ocw.mit.edu/courses/course-0"
    assert OCW_SET in item.set_specs.split()
    # The watermark is the newest datestamp of the completed list (course 249 was deposited at +249 s).
    assert as_utc(state(archive_engine).watermark) == START + dt.timedelta(seconds=249)
    assert result.watermark == "2026-03-01T00:04:09Z"


def test_incremental_harvest_starts_at_the_watermark_minus_overlap(oai_sandbox, archive_engine):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 120)
    harvest = harvester(oai_sandbox, archive_engine)
    harvest.harvest(INCREMENTAL)
    oai_sandbox.clock.advance(hours=2)
    changed = oai_sandbox.store.touch("1721.1/100003", withdrawn=True)
    add_courses(oai_sandbox.store, oai_sandbox.clock, 2, first=500)
    second = harvest.harvest(HarvestRequest(HarvestMode.INCREMENTAL, overlap=dt.timedelta(seconds=10)))
    # from = last watermark (00:01:59) - 10 s: the last 11 old items are harvested again (overlap), then 3 new.
    assert second.from_datestamp == "2026-03-01T00:01:49Z"
    assert second.records == 11 + 3
    stored = items(archive_engine)
    assert len(stored) == 122 and stored["1721.1/100003"].deleted
    assert stored["1721.1/100003"].title == "Course 2", "a deleted header keeps the metadata harvested before"
    assert as_utc(state(archive_engine).watermark) == as_utc(changed.datestamp) + dt.timedelta(seconds=1)


def test_nothing_new_is_an_empty_harvest_that_keeps_the_watermark(oai_sandbox, archive_engine):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 3)
    harvest = harvester(oai_sandbox, archive_engine)
    harvest.harvest(INCREMENTAL)
    watermark = state(archive_engine).watermark
    oai_sandbox.clock.advance(days=1)
    # The watermark is inclusive, so the newest item is seen again; an empty set yields noRecordsMatch.
    empty = harvester(oai_sandbox, archive_engine, set_spec="col_1721.1_40000").harvest(INCREMENTAL)
    assert (empty.records, empty.pages) == (0, 1)
    assert state(archive_engine).watermark == watermark


def test_a_failure_mid_harvest_resumes_from_the_committed_token_without_loss_or_duplicates(oai_sandbox, archive_engine):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 450)
    with pytest.raises(Interrupted):
        harvester(oai_sandbox, archive_engine, after_page=interrupt_after(2)).harvest(INCREMENTAL)
    assert len(items(archive_engine)) == 200, "two pages were committed"
    (interrupted,) = runs(archive_engine)
    assert (
        interrupted.status == HarvestRunStatus.RUNNING
        and interrupted.resumption_token == "oai_dc///col_1721.1_33971/200"
    )
    assert state(archive_engine).watermark is None, "the watermark waits for the end of the list"

    requested = []
    resumed = harvester(oai_sandbox, archive_engine, after_page=requested.append).harvest(INCREMENTAL)
    assert resumed.resumed and resumed.run_id == interrupted.id
    assert [page.cursor for page in requested] == [200, 300, 400], "continues at page 3; pages 1-2 not re-fetched"
    assert (resumed.pages, resumed.records) == (5, 450)
    assert len(items(archive_engine)) == 450
    assert runs(archive_engine)[0].status == HarvestRunStatus.COMPLETE
    assert as_utc(state(archive_engine).watermark) == START + dt.timedelta(seconds=449)


def test_a_rejected_token_on_resume_restarts_the_run_from_its_from(oai_sandbox, archive_engine):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 250)
    with pytest.raises(Interrupted):
        harvester(oai_sandbox, archive_engine, after_page=interrupt_after(1)).harvest(INCREMENTAL)
    oai_sandbox.fault(
        "status", status=200, body=oai_error_body("badResumptionToken"), headers={"Content-Type": "text/xml"}
    )
    # Granularity is known, so the first request is the resumed ListRecords, which the fault answers.
    result = harvester(oai_sandbox, archive_engine).harvest(INCREMENTAL, granularity=Granularity.SECOND)
    assert (result.restarts, result.resumed) == (1, True)
    assert len(items(archive_engine)) == 250
    assert runs(archive_engine)[0].status == HarvestRunStatus.COMPLETE


def test_a_token_rejected_every_time_fails_after_bounded_restarts(oai_sandbox, archive_engine):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 250)
    body = oai_error_body("badResumptionToken")
    oai_sandbox.fault("status", status=200, body=body, headers={"Content-Type": "text/xml"}, times=None)
    from ocw_operators.oai.protocol import BadResumptionToken

    with pytest.raises(BadResumptionToken):
        harvester(oai_sandbox, archive_engine, max_restarts=2).harvest(INCREMENTAL, granularity=Granularity.SECOND)
    oai_sandbox.clear_faults()


def test_a_window_harvest_does_not_move_the_watermark_and_a_changed_window_abandons_the_old_run(
    oai_sandbox, archive_engine
):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 150)
    harvest = harvester(oai_sandbox, archive_engine)
    harvest.harvest(INCREMENTAL)
    watermark = state(archive_engine).watermark
    with pytest.raises(Interrupted):
        harvester(oai_sandbox, archive_engine, after_page=interrupt_after(1)).harvest(FULL)
    window = HarvestRequest(HarvestMode.WINDOW, from_=START, until=START + dt.timedelta(seconds=4))
    result = harvest.harvest(window)
    assert (result.from_datestamp, result.until_datestamp, result.records) == (
        "2026-03-01T00:00:00Z", "2026-03-01T00:00:04Z", 5,
    )  # fmt: skip
    assert state(archive_engine).watermark == watermark
    assert [run.status for run in runs(archive_engine)] == ["complete", "abandoned", "complete"]


def test_a_harvest_of_an_older_range_does_not_show_a_later_withdrawal(oai_sandbox, archive_engine):
    """The seed's example: created 2002-05-02, withdrawn 2002-10-06; harvesting May does not find it."""
    oai_sandbox.clock.now = dt.datetime(2002, 5, 2, tzinfo=dt.UTC)
    (item,) = add_courses(oai_sandbox.store, oai_sandbox.clock, 1)
    oai_sandbox.clock.now = dt.datetime(2002, 10, 6, tzinfo=dt.UTC)
    oai_sandbox.store.touch(item.handle, withdrawn=True)
    harvest = harvester(oai_sandbox, archive_engine)
    may = HarvestRequest(HarvestMode.WINDOW, from_=dt.datetime(2002, 5, 1, tzinfo=dt.UTC),
                         until=dt.datetime(2002, 5, 31, tzinfo=dt.UTC))  # fmt: skip
    assert harvest.harvest(may).records == 0
    assert items(archive_engine) == {}
    october = HarvestRequest(HarvestMode.WINDOW, from_=dt.datetime(2002, 10, 1, tzinfo=dt.UTC),
                             until=dt.datetime(2002, 10, 31, tzinfo=dt.UTC))  # fmt: skip
    assert harvest.harvest(october).deleted_records == 1
    assert items(archive_engine)[item.handle].deleted


def test_a_withdrawal_shows_only_after_the_oai_index_is_refreshed(oai_sandbox_manual_index, archive_engine):
    sandbox = oai_sandbox_manual_index
    (item,) = add_courses(sandbox.store, sandbox.clock, 1)
    sandbox.reindex()
    harvest = harvester(sandbox, archive_engine)
    harvest.harvest(INCREMENTAL)
    sandbox.clock.advance(hours=1)
    sandbox.store.touch(item.handle, withdrawn=True)
    harvest.harvest(INCREMENTAL)
    assert not items(archive_engine)[item.handle].deleted, "DSpace has not run `oai import` yet"
    sandbox.reindex()
    harvest.harvest(INCREMENTAL)
    assert items(archive_engine)[item.handle].deleted


def test_full_reharvest_marks_expunged_items_vanished_after_get_record_confirms(oai_sandbox, archive_engine):
    courses = add_courses(oai_sandbox.store, oai_sandbox.clock, 5)
    harvest = harvester(oai_sandbox, archive_engine)
    harvest.harvest(FULL)
    oai_sandbox.store.expunge(courses[1].handle)
    incremental = harvest.harvest(INCREMENTAL)
    assert incremental.vanished_items == 0 and items(archive_engine)[courses[1].handle].vanished_on is None
    full = harvest.harvest(FULL)
    assert full.vanished_items == 1
    stored = items(archive_engine)
    assert stored[courses[1].handle].vanished_on is not None
    assert all(stored[c.handle].vanished_on is None for c in courses if c is not courses[1])


def test_an_item_missed_by_the_list_but_still_there_is_not_marked_vanished(oai_sandbox, archive_engine):
    courses = add_courses(oai_sandbox.store, oai_sandbox.clock, 3)
    harvest = harvester(oai_sandbox, archive_engine)
    harvest.harvest(FULL)
    # Pretend the list skipped an item (offset tokens shift when items change mid-list): it is stale in the DB.
    with session_scope(archive_engine) as session:
        session.get(OaiHarvestedItem, courses[0].handle).last_harvest_run_id = None
    second = harvest.harvest(HarvestRequest(HarvestMode.FULL))
    assert second.vanished_items == 0
    assert items(archive_engine)[courses[0].handle].vanished_on is None


def test_rejected_records_are_counted_and_the_rest_stored(oai_sandbox, archive_engine, caplog):
    add_courses(oai_sandbox.store, oai_sandbox.clock, 2)
    from ocw_sandbox.dspace_store import SandboxItem

    oai_sandbox.store.add(SandboxItem("1721.1/bad;id", "1721.1/33971", {"title": ["x"]}, oai_sandbox.clock()))
    result = harvester(oai_sandbox, archive_engine).harvest(FULL)
    assert (result.records, result.rejected_records) == (2, 1)
    assert "Skipped OAI record" in caplog.text


def test_an_upsert_never_replaces_a_newer_state_with_an_older_one(archive_engine):
    from ocw_operators.db.oai_items import upsert_items
    from ocw_operators.oai.records import OaiRecord

    def record(day: int, deleted: bool) -> OaiRecord:
        stamp = dt.datetime(2026, 3, day, tzinfo=dt.UTC)
        return OaiRecord(
            "oai:h:1721.1/1", "1721.1/1", stamp, ("col_x",), deleted, None if deleted else "https://u", "T"
        )

    with session_scope(archive_engine) as session:
        upsert_items(session, [record(1, False), record(5, True)], run_id=None, now=START)  # duplicate in one page
    with session_scope(archive_engine) as session:
        upsert_items(session, [record(2, False)], run_id=None, now=START)
    with session_scope(archive_engine) as session:
        assert session.scalar(select(func.count()).select_from(OaiHarvestedItem)) == 1
        item = session.get(OaiHarvestedItem, "1721.1/1")
        assert item.deleted and as_utc(item.datestamp).day == 5
