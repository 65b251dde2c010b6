"""Archive DB rows for each condition of the attention digest, some over their thresholds and some not."""

from __future__ import annotations

import datetime as dt

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import CourseRetirement, ExternalResource, TivoliHeldVolume

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def _resource(n: int, site: str, url: str, **columns) -> ExternalResource:
    return ExternalResource(content_uuid=f"00000000-0000-0000-0000-{n:012d}", site_name=site, url=url, **columns)


def seed_conditions(engine, now: dt.datetime = NOW) -> None:
    days = lambda n: now - dt.timedelta(days=n)  # noqa: E731
    with session_scope(engine) as session:
        session.add_all([
            CourseRetirement(course_id="history/old-workflow", state="in_workflow", deposited_at=days(20),
                             deposit_location="https://sword:pw@dspace.example.edu/edit/1"),
            CourseRetirement(course_id="history/new-workflow", state="in_workflow", deposited_at=days(3)),
            CourseRetirement(course_id="physics/unknown-outcome", state="depositing", deposit_started_at=days(1)),
            CourseRetirement(course_id="physics/in-flight", state="depositing",
                             deposit_started_at=now - dt.timedelta(minutes=5)),
            CourseRetirement(course_id="math/withdrawn", state="done", dspace_flag="withdrawn",
                             dspace_handle="1721.1/9", dspace_flagged_at=days(1),
                             dspace_flag_reason="OAI-PMH lists the item as deleted"),
            CourseRetirement(course_id="math/acknowledged", state="done", dspace_flag="missing",
                             dspace_flagged_at=days(5), dspace_flag_acknowledged_by="admin",
                             dspace_flag_acknowledged_at=days(4)),
            TivoliHeldVolume(bibid="UF00001234", vid="00001", folder="UF00001234/00001", reason="permission denied",
                             first_seen_at=days(2), last_seen_at=days(0), last_run="scheduled__1", attempts=30),
            TivoliHeldVolume(bibid="UF00005678", vid="00001", folder="UF00005678_00001", reason="disk full",
                             first_seen_at=now - dt.timedelta(hours=2), last_seen_at=now, last_run="scheduled__2"),
            TivoliHeldVolume(bibid="UF00009012", vid="00001", folder="UF00009012/VID00001", reason="EIO",
                             first_seen_at=days(9), last_seen_at=days(8), last_run="scheduled__3", released_at=days(8)),
            _resource(1, "8-01-physics", "https://a.example.edu/gone", status="broken", first_broken_at=days(2)),
            _resource(2, "8-01-physics", "https://b.example.edu/x?key=secret", status="broken",
                      first_broken_at=days(3)),
            _resource(3, "18-01-calculus", "https://c.example.edu/", status="broken", first_broken_at=days(1)),
            _resource(4, "18-01-calculus", "https://d.example.edu/", status="broken", first_broken_at=days(30)),
            _resource(5, "18-01-calculus", "https://e.example.edu/", status="valid", first_broken_at=days(1)),
            _resource(6, "8-01-physics", "https://f.example.edu/", wayback_status="error",
                      wayback_status_ext="error:too-many-redirects", wayback_submitted_at=days(1)),
            _resource(7, "8-01-physics", "https://g.example.edu/", wayback_status="error",
                      wayback_status_ext="error:too-many-redirects", wayback_submitted_at=days(2)),
            _resource(8, "8-01-physics", "https://h.example.edu/", wayback_status="error",
                      wayback_status_ext="error:status-expired", wayback_submitted_at=days(60)),
        ])  # fmt: skip
