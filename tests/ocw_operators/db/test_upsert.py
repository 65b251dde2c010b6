import threading

from sqlalchemy import select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, RateLimitBucket
from ocw_operators.db.upsert import UPSERT_CHUNK_ROWS, upsert

# A resource's unique key within its site (its URL is the other one, and never changes).
KEY = ["site_name", "content_uuid"]


def _resource(n: int, **overrides) -> dict:
    return {"content_uuid": f"uuid-{n}", "site_name": "site", "url": f"https://example.com/{n}", **overrides}


def test_upsert_inserts_then_updates_only_named_columns(archive_engine):
    with session_scope(archive_engine) as session:
        upsert(session, ExternalResource, [_resource(1, title="first")], conflict_columns=KEY)
    with session_scope(archive_engine) as session:
        session.execute(ExternalResource.__table__.update().values(status="valid", external_url_response_code=200))
    with session_scope(archive_engine) as session:
        upsert(
            session,
            ExternalResource,
            [_resource(1, title="renamed", site_short_id="s")],
            conflict_columns=KEY,
            update_columns=["title", "site_short_id"],
        )
    with session_scope(archive_engine) as session:
        row = session.scalars(select(ExternalResource)).one()
    assert (row.title, row.site_short_id, row.url) == ("renamed", "s", "https://example.com/1")
    assert (row.status, row.external_url_response_code) == ("valid", 200), "check state must survive"


def test_upsert_chunks_large_batches(archive_engine):
    rows = [_resource(n) for n in range(UPSERT_CHUNK_ROWS * 2 + 7)]
    with session_scope(archive_engine) as session:
        assert upsert(session, ExternalResource, rows, conflict_columns=KEY) == len(rows)
        assert session.query(ExternalResource).count() == len(rows)


def test_do_nothing_when_no_columns_to_update(archive_engine):
    with session_scope(archive_engine) as session:
        upsert(session, RateLimitBucket, [{"name": "x", "next_slot_at": 1.0}], conflict_columns=["name"])
        upsert(
            session,
            RateLimitBucket,
            [{"name": "x", "next_slot_at": 9.0}],
            conflict_columns=["name"],
            update_columns=[],
        )
    with session_scope(archive_engine) as session:
        assert session.get(RateLimitBucket, "x").next_slot_at == 1.0


def test_write_lock_serialises_read_modify_write(archive_engine):
    """Concurrent read-then-write transactions must not lose increments (SQLite and PostgreSQL)."""
    with session_scope(archive_engine) as session:
        session.add(RateLimitBucket(name="counter", next_slot_at=0.0))
    increments_per_thread, threads = 25, 4

    def bump() -> None:
        for _ in range(increments_per_thread):
            with session_scope(archive_engine, write_lock=True) as session:
                bucket = session.execute(
                    select(RateLimitBucket).where(RateLimitBucket.name == "counter").with_for_update()
                ).scalar_one()
                bucket.next_slot_at += 1

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with session_scope(archive_engine) as session:
        assert session.get(RateLimitBucket, "counter").next_slot_at == increments_per_thread * threads
