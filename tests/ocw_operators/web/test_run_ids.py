"""The Airflow run ids (and first-broken times) the operators now record on the archive's rows, on SQLite and
PostgreSQL, and the migration that adds them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy import select

from ocw_operators.db import migrate
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import CourseRetirement, ExternalResource, LinkCheckRun, TivoliRetrieval
from ocw_operators.db.models.external_resources import ResourceStatus
from ocw_operators.external_resources.store import record_check_results, record_check_run
from ocw_operators.retirement import state
from ocw_operators.retirement.records import SqlRetirementRecords
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.lease import airflow_run_id_of
from ocw_operators.tivoli.retrieve import RetrieveReport, record_retrieval_failure, record_retrievals
from ocw_operators.wayback.candidates import CandidateCriteria
from ocw_operators.wayback.submission import claim_resource
from ocw_operators.web.links import details_line

T1 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _resource(engine, url="http://127.0.0.1:9/a", status="unchecked") -> int:
    with session_scope(engine) as session:
        row = ExternalResource(content_uuid=url[-36:].rjust(36, "0"), site_name="s", url=url, status=status)
        session.add(row)
        session.flush()
        return row.id


def _outcome(resource_id: int, status: ResourceStatus):
    return SimpleNamespace(resource_id=resource_id, status=status, response_code=404, error="")


def _row(engine, resource_id: int) -> ExternalResource:
    with session_scope(engine) as session:
        return session.get(ExternalResource, resource_id)


def test_a_check_records_its_run_and_when_the_link_first_broke(archive_engine):
    resource_id = _resource(archive_engine)
    for when, run, status in (
        (T1, "run-1", ResourceStatus.BROKEN),
        (T1 + dt.timedelta(days=7), "run-2", ResourceStatus.BROKEN),
    ):
        with session_scope(archive_engine) as session:
            record_check_results(session, [_outcome(resource_id, status)], when, run)
    row = _row(archive_engine, resource_id)
    assert (row.last_check_run, row.first_broken_at) == ("run-2", T1), "still broken since the first run"
    with session_scope(archive_engine) as session:
        record_check_results(session, [_outcome(resource_id, ResourceStatus.VALID)], T1 + dt.timedelta(days=14), "r3")
    row = _row(archive_engine, resource_id)
    assert (row.last_check_run, row.first_broken_at) == ("r3", None)


def test_a_check_run_keeps_its_counts_and_the_archive_broken_total(archive_engine):
    _resource(archive_engine, "http://127.0.0.1:9/x", status="broken")
    _resource(archive_engine, "http://127.0.0.1:9/y", status="broken")
    counts = Counter({"valid": 3, "broken": 1})
    for _ in range(2):  # a re-run replaces its row
        with session_scope(archive_engine) as session:
            record_check_run(session, "external_resource_check", "run-1", counts, T1)
    with session_scope(archive_engine) as session:
        rows = session.scalars(select(LinkCheckRun)).all()
    assert [(r.run_id, r.checked, r.valid, r.broken, r.check_failed, r.broken_total) for r in rows] == [
        ("run-1", 4, 3, 1, 0, 2)
    ]


def test_a_wayback_claim_records_the_submitting_run(archive_engine):
    resource_id = _resource(archive_engine, status="valid")
    assert claim_resource(archive_engine, resource_id, CandidateCriteria(), T1, "submit-run") is not None
    assert _row(archive_engine, resource_id).wayback_submit_run == "submit-run"


def test_retirement_steps_and_flags_record_their_runs(archive_engine):
    state.register(archive_engine, ["physics/8-01"])
    state.update(archive_engine, "physics/8-01", state="done", dspace_handle="1721.1/9", deposited_at=T1)
    state.stamp_run(archive_engine, "physics/8-01", "retire-run")
    records = SqlRetirementRecords(archive_engine, cms=lambda: None, run_id="harvest-run")
    assert records.mark_withdrawn("physics/8-01", "1721.1/9", expunged=False)
    with session_scope(archive_engine) as session:
        row = session.scalars(select(CourseRetirement)).one()
    assert (row.retirement_run_id, row.dspace_flag_run_id, row.dspace_flag) == (
        "retire-run",
        "harvest-run",
        "withdrawn",
    )


def test_the_run_id_inside_a_task_try_name():
    assert airflow_run_id_of("tivoli_dropbox_prep/scheduled__2026-11-30T01:00:00+00:00/prep/try-2") == (
        "scheduled__2026-11-30T01:00:00+00:00"
    )
    assert airflow_run_id_of("d/run/with/slashes/task/try-1") == "run/with/slashes"
    assert airflow_run_id_of("cli-host-123") == ""


def test_retrievals_are_logged_per_file(archive_engine):
    volume = VolumeId("UF12345678", "00001")
    report = RetrieveReport(volume="UF12345678_00001", destination="/out", retrieved=["a.tif"], already_present=["b"])
    record_retrievals(archive_engine, "retrieve-run", volume, report)
    record_retrieval_failure(archive_engine, "retrieve-run-2", volume, "/out", "dsmc could not retrieve c.tif")
    with session_scope(archive_engine) as session:
        rows = session.scalars(select(TivoliRetrieval).order_by(TivoliRetrieval.id)).all()
    assert [(r.airflow_run_id, r.file_path, r.outcome) for r in rows] == [
        ("retrieve-run", "a.tif", "retrieved"),
        ("retrieve-run", "b", "already_present"),
        ("retrieve-run-2", "", "failed"),
    ]


def test_the_migration_fills_the_staging_run_of_logged_files(archive_db_url, archive_engine):
    migrate.downgrade(archive_db_url, "tivoli_0002")
    with archive_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO tivoli_file_log (bibid, vid, folder, file_name, original_name, size, last_write_date, "
                "archive_date, sha1, state, source_path, staging_path, prep_run) VALUES ('UF1', '00001', '', 'a', "
                "'a', 1, :now, :now, :sha, 'staged', 'a', 'a', 'tivoli_dropbox_prep/manual__1/prep/try-1')"
            ),
            {"now": T1, "sha": "0" * 40},
        )
    migrate.upgrade(archive_db_url)
    with archive_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT prep_run_id FROM tivoli_file_log")).scalar_one() == "manual__1"


def test_summaries_end_with_the_run_tab():
    ti = SimpleNamespace(dag_id="tivoli_nightly_load", run_id="scheduled__2026-11-30T03:00:00+00:00")
    assert details_line({"ti": ti, "run_id": ti.run_id}) == (
        "Details: /archive/runs/tivoli_nightly_load/scheduled__2026-11-30T03%3A00%3A00%2B00%3A00"
    )
    assert details_line({}) == "Details: /archive/links"


def test_the_migration_dates_links_broken_now_from_their_last_check(archive_db_url, archive_engine):
    migrate.downgrade(archive_db_url, "resources_0002")
    with archive_engine.begin() as connection:
        for number, status in enumerate(("broken", "valid")):
            connection.execute(
                sa.text(
                    "INSERT INTO external_resource (content_uuid, site_name, url, url_sha256, status, last_checked) "
                    "VALUES (:uuid, 's', :url, :sha, :status, :checked)"
                ),
                {
                    "uuid": f"{number:036d}",
                    "url": f"http://127.0.0.1:9/{number}",
                    "sha": f"{number:064d}",
                    "status": status,
                    "checked": T1,
                },
            )
    migrate.upgrade(archive_db_url)
    with session_scope(archive_engine) as session:
        rows = session.execute(select(ExternalResource.status, ExternalResource.first_broken_at)).all()
    assert sorted(rows) == [("broken", T1), ("valid", None)]
