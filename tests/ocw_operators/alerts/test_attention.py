"""The digest's conditions as queries on the archive DB (SQLite and PostgreSQL), and the digest's text."""

from __future__ import annotations

from ocw_operators.alerts.attention import attention_report
from ocw_operators.alerts.digest import DigestThresholds, render_digest
from tests.ocw_operators.alerts.seed import NOW, seed_conditions

THRESHOLDS = DigestThresholds(workflow_days=14, held_hours=24, recent_days=7)


def _report(engine, **overrides):
    values = {"workflow_days": 14, "held_hours": 24, "recent_days": 7, **overrides}
    return attention_report(engine, now=NOW, **values)


def test_each_condition_lists_only_what_is_over_its_threshold(archive_engine):
    seed_conditions(archive_engine)
    report = _report(archive_engine)
    assert [(r.course_id, r.state) for r in report.retirements] == [
        ("history/old-workflow", "in_workflow"),
        ("physics/unknown-outcome", "depositing"),
    ]
    assert [(f.course_id, f.flag, f.handle) for f in report.flags] == [("math/withdrawn", "withdrawn", "1721.1/9")]
    assert [v.volume for v in report.held_volumes] == ["UF00001234_00001"]
    assert [(g.key, g.count) for g in report.broken_links_by_site] == [("18-01-calculus", 1), ("8-01-physics", 2)]
    assert [(g.key, g.count) for g in report.wayback_errors] == [("error:too-many-redirects", 2)]
    assert not report.is_empty()


def test_thresholds_come_from_the_arguments(archive_engine):
    seed_conditions(archive_engine)
    report = _report(archive_engine, workflow_days=2, held_hours=1, recent_days=60)
    assert {r.course_id for r in report.retirements} == {
        "history/old-workflow", "history/new-workflow", "physics/unknown-outcome"}  # fmt: skip
    assert [v.volume for v in report.held_volumes] == ["UF00001234_00001", "UF00005678_00001"]
    assert sum(g.count for g in report.wayback_errors) == 3


def test_an_empty_archive_needs_nothing(archive_engine):
    assert _report(archive_engine).is_empty()


def test_the_digest_names_every_condition_and_masks_urls(archive_engine):
    seed_conditions(archive_engine)
    email = render_digest(_report(archive_engine), THRESHOLDS, "https://airflow.example.edu", NOW.date())
    assert email.subject == (
        "[ocw-archive] Needs attention 2026-11-30: 2 retirements, 1 flag, 1 held volume, 3 newly broken links, "
        "2 Wayback errors"
    )
    pages = [f"https://airflow.example.edu/archive/{page}" for page in ("retirements", "oai", "tivoli", "links")]
    for text in ("history/old-workflow", "deposit outcome unknown", "math/withdrawn", "UF00001234_00001",
                 "permission denied", "8-01-physics", "https://a.example.edu/gone", "error:too-many-redirects",
                 *pages):  # fmt: skip
        assert text in email.html, text
    for secret in ("sword:pw", "key=secret", "math/acknowledged", "physics/in-flight", "UF00009012"):
        assert secret not in email.html, secret
