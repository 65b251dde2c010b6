"""Link-health counts per site on SQLite and PostgreSQL: every link counted once by status and once by Wayback."""

from __future__ import annotations

import datetime as dt

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources import health

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def test_site_counts_split_links_by_status_and_wayback_coverage(archive_engine):
    rows = [
        ("valid", "success", NOW),  # captured within the interval
        ("valid", "success", NOW - dt.timedelta(days=90)),  # captured before it
        ("valid", "success", None),  # a success without a recorded time counts as earlier
        ("broken", "pending", None),
        ("check_failed", "error", None),
        ("unchecked", "", None),
    ]
    with session_scope(archive_engine) as session:
        for number, (status, wayback, captured_at) in enumerate(rows):
            session.add(
                ExternalResource(
                    content_uuid=f"{number:036d}",
                    site_name="s",
                    url=f"http://127.0.0.1:9/{number}",
                    status=status,
                    wayback_status=wayback,
                    wayback_last_successful_submission=captured_at,
                )
            )
    since = NOW - dt.timedelta(days=30)
    with archive_engine.connect() as connection:
        (row,) = connection.execute(health.site_counts_query({}, since)).mappings().all()
    assert dict(row) == {
        "site_name": "s",
        "total": 6,
        "valid": 3,
        "broken": 1,
        "unchecked": 1,
        "check_failed": 1,
        "wayback_captured": 1,
        "wayback_stale": 2,
        "wayback_pending": 1,
        "wayback_error": 1,
        "wayback_never": 1,
    }
