"""One resource per (site, URL) through the markdown import, and site filters that match each resource's own site.

The two fixture courses both link the OCW home page and the Wikipedia article; only 6.001 links the SICP book.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from ocw_operators.db import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources import persistence
from ocw_operators.external_resources.identity import resource_uuid
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions
from ocw_operators.external_resources.store import select_resource_ids
from ocw_operators.wayback.candidates import CandidateCriteria, select_candidates
from ocw_operators.wayback.status import pending_job_ids

from .conftest import snapshot_files

BOTH_RULES = ("link_to_external_resource", "nav_item_to_external_resource")
LINEAR, SICP_COURSE = "18.06-spring-2010", "6.001-fall-2005"
OCW_HOME = "https://ocw.mit.edu"
WIKIPEDIA = "https://en.wikipedia.org/wiki/Function_(mathematics)"
SICP = "https://mitpress.mit.edu/sites/default/files/sicp/index.html"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def run(engine, sites_dir, run_id: str = "run-1", **options):
    options = {"sites_dir": sites_dir, "rules": BOTH_RULES, "run_id": run_id, "commit": True, **options}
    return import_sites(engine, ImportOptions.build(**options))


def urls_of(engine, ids) -> set[tuple[str, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(ExternalResource.site_name, ExternalResource.url).where(ExternalResource.id.in_(ids))
        )
        return {tuple(row) for row in rows}


def test_the_link_check_and_wayback_filters_find_a_sites_own_copy_of_a_shared_url(archive_engine, sites_dir):
    run(archive_engine, sites_dir)
    with session_scope(archive_engine) as session:
        session.execute(update(ExternalResource).values(status="valid"))
        only_sicp = select_resource_ids(session, sites=[SICP_COURSE])
        without_linear = select_resource_ids(session, exclude=[LINEAR])
    assert urls_of(archive_engine, only_sicp) == {
        (SICP_COURSE, OCW_HOME),
        (SICP_COURSE, WIKIPEDIA),
        (SICP_COURSE, SICP),
    }
    assert without_linear == only_sicp

    candidates = select_candidates(archive_engine, CandidateCriteria(site_filter=[SICP_COURSE]), NOW)
    assert candidates == only_sicp
    excluded = select_candidates(archive_engine, CandidateCriteria(exclude=[SICP_COURSE]), NOW)
    assert (LINEAR, OCW_HOME) in urls_of(archive_engine, excluded)
    assert not set(excluded) & set(only_sicp)


def test_the_status_update_filter_finds_a_sites_own_pending_jobs(archive_engine, sites_dir):
    run(archive_engine, sites_dir)
    with session_scope(archive_engine) as session:
        for site, job_id in ((LINEAR, "job-linear"), (SICP_COURSE, "job-sicp")):
            session.execute(
                update(ExternalResource)
                .where(ExternalResource.site_name == site, ExternalResource.url == OCW_HOME)
                .values(wayback_status="pending", wayback_job_id=job_id, wayback_submitted_at=NOW)
            )
    assert pending_job_ids(archive_engine, site_filter=[SICP_COURSE]) == ["job-sicp"]
    assert pending_job_ids(archive_engine, site_filter=[LINEAR]) == ["job-linear"]


def test_a_fragment_makes_another_resource_and_each_site_its_own(archive_engine, tmp_path):
    sites = tmp_path / "sites"
    for site, body in (
        ("a-course", "[x](https://x.org/p) and [y](https://x.org/p#part)\n"),
        ("b-course", "[x](https://x.org/p)\n"),
    ):
        (sites / site / "data").mkdir(parents=True)
        (sites / site / "data" / "course.json").write_text('{"course_title": "A course", "title": "Course Metadata"}')
        (sites / site / "content").mkdir()
        (sites / site / "content" / "_index.md").write_text(body)
    run(archive_engine, sites, rules=("link_to_external_resource",))
    with session_scope(archive_engine) as session:
        rows = {(row.site_name, row.url): row.content_uuid for row in session.scalars(select(ExternalResource))}
    assert rows == {
        ("a-course", "https://x.org/p"): resource_uuid("a-course", "https://x.org/p"),
        ("a-course", "https://x.org/p#part"): resource_uuid("a-course", "https://x.org/p#part"),
        ("b-course", "https://x.org/p"): resource_uuid("b-course", "https://x.org/p"),
    }
    assert resource_uuid("b-course", "https://x.org/p") in (sites / "b-course" / "content" / "_index.md").read_text()


def test_a_resource_stored_meanwhile_under_another_uuid_stops_the_site_and_the_rerun_uses_it(
    archive_engine, sites_dir, monkeypatch
):
    real_persist = persistence.persist_site
    course = sites_dir / SICP_COURSE
    before = snapshot_files(course)
    concurrent_uuid = "0b5f9a9e-0000-4000-8000-00000000cafe"

    def someone_loads_it_first(engine, plan, run_id):
        if plan.meta.name == SICP_COURSE:
            with session_scope(engine) as session:
                session.add(
                    ExternalResource(content_uuid=concurrent_uuid, site_name=SICP_COURSE, url=SICP, title="SICP")
                )
        real_persist(engine, plan, run_id)

    monkeypatch.setattr(persistence, "persist_site", someone_loads_it_first)
    report = run(archive_engine, sites_dir, run_id="first")
    (error,) = report.errors
    assert error.name == SICP_COURSE and f"{SICP}: stored meanwhile by another writer" in error.reason
    assert snapshot_files(course) == before  # no page names a UUID the archive DB does not hold
    with session_scope(archive_engine) as session:
        sicp_rows = session.scalars(select(ExternalResource).where(ExternalResource.site_name == SICP_COURSE)).all()
    assert [(row.url, row.content_uuid) for row in sicp_rows] == [(SICP, concurrent_uuid)]  # nothing else saved

    monkeypatch.setattr(persistence, "persist_site", real_persist)
    rerun = run(archive_engine, sites_dir, run_id="rerun")
    assert rerun.errors == []
    assert f'{{{{% resource_link "{concurrent_uuid}" "SICP" %}}}}' in (course / "content/pages/syllabus.md").read_text()
