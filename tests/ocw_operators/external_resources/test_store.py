import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, ResourceStatus
from ocw_operators.db.upsert import upsert
from ocw_operators.external_resources.store import (
    chunked,
    load_urls,
    record_check_results,
    select_resource_ids,
)


@dataclass(frozen=True)
class Outcome:
    resource_id: int
    status: ResourceStatus
    response_code: int | None
    error: str = ""


def _seed(engine, sites):
    rows = [
        {"content_uuid": f"00000000-0000-0000-0000-{n:012d}", "site_name": site, "site_short_id": short, "url": url}
        for n, (site, short, url) in enumerate(sites, start=1)
    ]
    with session_scope(engine) as session:
        upsert(session, ExternalResource, rows, conflict_columns=["site_name", "url_sha256"])


def test_site_filter_matches_name_or_short_id_and_exclude(archive_engine):
    _seed(
        archive_engine, [("a-site", "a", "https://a/1"), ("b-site", "b", "https://b/1"), ("c-site", "c", "https://c")]
    )
    with session_scope(archive_engine) as session:
        assert select_resource_ids(session) == [1, 2, 3]
        assert select_resource_ids(session, sites=["a", "b-site"]) == [1, 2]
        assert select_resource_ids(session, exclude=["c"]) == [1, 2]
        assert load_urls(session, [3, 1, 99]) == [(1, "https://a/1"), (3, "https://c")]


def test_chunked_makes_batches_of_100():
    batches = chunked(list(range(250)), 100)
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert chunked([], 100) == []


def test_record_check_results_writes_only_check_columns(archive_engine):
    _seed(archive_engine, [("s", "", "https://x/1"), ("s", "", "https://x/2")])
    with session_scope(archive_engine) as session:
        session.execute(ExternalResource.__table__.update().values(wayback_status="pending", wayback_job_id="j"))
    checked_at = dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)
    outcomes = [Outcome(1, ResourceStatus.VALID, 200), Outcome(2, ResourceStatus.CHECK_FAILED, None, "timeout")]
    with session_scope(archive_engine) as session:
        counts = record_check_results(session, outcomes, checked_at)
    assert counts == {"valid": 1, "check_failed": 1}
    with session_scope(archive_engine) as session:
        rows = session.scalars(select(ExternalResource).order_by(ExternalResource.id)).all()
    assert [(r.status, r.external_url_response_code, r.check_error) for r in rows] == [
        ("valid", 200, ""),
        ("check_failed", None, "timeout"),
    ]
    assert all(r.last_checked == checked_at and r.last_checked.tzinfo is not None for r in rows)
    assert {(r.wayback_status, r.wayback_job_id) for r in rows} == {("pending", "j")}


def test_a_link_keeps_the_time_it_first_broke_until_it_is_valid_again(archive_engine):
    _seed(archive_engine, [("s", "", "https://x/1"), ("s", "", "https://x/2")])
    first, second, third = (dt.datetime(2026, 11, day, tzinfo=dt.UTC) for day in (2, 9, 16))
    checks = [
        (first, [Outcome(1, ResourceStatus.VALID, 200), Outcome(2, ResourceStatus.VALID, 200)]),
        (second, [Outcome(1, ResourceStatus.VALID, 200), Outcome(2, ResourceStatus.BROKEN, 404)]),
        (third, [Outcome(1, ResourceStatus.BROKEN, 410), Outcome(2, ResourceStatus.BROKEN, 404)]),
    ]
    for checked_at, outcomes in checks:
        with session_scope(archive_engine) as session:
            record_check_results(session, outcomes, checked_at)
    with session_scope(archive_engine) as session:
        rows = session.scalars(select(ExternalResource).order_by(ExternalResource.id)).all()
    assert [(r.status, r.first_broken_at) for r in rows] == [("broken", third), ("broken", second)]
    with session_scope(archive_engine) as session:
        record_check_results(session, [Outcome(2, ResourceStatus.VALID, 200)], third)
    with session_scope(archive_engine) as session:
        assert session.get(ExternalResource, 2).first_broken_at is None
