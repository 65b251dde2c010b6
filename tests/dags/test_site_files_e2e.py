"""The course sites follow the archive: import -> weekly check -> Wayback captures -> status update, each a DAG run
under ``dag.test()`` against the sandbox, over two course sites in the published layout that are git checkouts.

After the runs every external-resource page says what the archive DB says (``status``, ``wayback_url``), and
``git log`` of each site shows one commit per run that changed it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource
from tests.conftest import WaybackSandbox
from tests.ocw_operators.external_resources.git_sites import log, make_checkout, status

ROOT = Path(__file__).resolve().parents[2]
AUTHOR = "Archive Bot <archive-bot@example.edu>"
pytestmark = [pytest.mark.airflow_e2e, pytest.mark.timeout(300, method="thread")]


def _page(path: Path, front: dict, body: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{yaml.dump(front)}---\n{body}")


def write_course(site: Path, url) -> None:
    """A course in ocw-studio's published layout whose links all point at the link farm (``url(path, host)``)."""
    uid = hashlib.sha256(site.name.encode()).hexdigest()[:8]
    (site / "data").mkdir(parents=True)
    (site / "data" / "course.json").write_text(json.dumps({
        "course_title": site.name, "primary_course_number": site.name, "term": "Fall", "year": "2026",
        "course_description": f"Start with the [reading list]({url('/ok?list', 1)}).\n",
        "site_uid": f"{uid}-0000-4000-8000-000000000000", "title": "Course Metadata",
    }, indent=2))  # fmt: skip
    (site / "config" / "_default").mkdir(parents=True)
    syllabus = f"{uid}-0000-4000-8000-000000000001"
    (site / "config" / "_default" / "menus.yaml").write_text(yaml.dump({"leftnav": [
        {"identifier": syllabus, "name": "Syllabus", "url": "/pages/syllabus", "weight": 10},
        {"identifier": "external-1-1711617260777", "name": "Department", "url": url("/ok?dept"), "weight": 20},
    ]}))  # fmt: skip
    _page(site / "content/pages/syllabus.md",
          {"content_type": "page", "title": "Syllabus", "uid": syllabus},
          f"See the [notes]({url('/ok?notes')}), the [old site]({url('/status/404')}) and the\n"
          f"[publisher]({url('/head-405', 1)}).\n")  # fmt: skip
    _page(site / "content/resources/photo.md", {
        "content_type": "resource", "description": "", "file": "/courses/x/photo.jpg", "file_type": "image/jpeg",
        "image_metadata": {"caption": f"From the [photos]({url('/redirect/1')}).", "credit": "", "image-alt": "A"},
        "resourcetype": "Image", "title": "photo.jpg", "uid": f"{uid}-0000-4000-8000-000000000002",
    })  # fmt: skip
    existing = f"{uid}-0000-4000-8000-000000000003"
    _page(site / f"content/external-resources/course-tools_{existing}.md", {
        "_build": {"list": True, "render": False}, "content_type": "external-resource",
        "external_url": url("/ok?tools"), "has_external_license_warning": True, "license": "https://en.wikipedia.org/wiki/All_rights_reserved",
        "status": "", "title": "Course tools", "uid": existing, "wayback_url": "",
    })  # fmt: skip


def pages_disagreeing_with_the_archive(sites: Path, engine) -> list[str]:
    with session_scope(engine) as session:
        rows = list(session.scalars(select(ExternalResource)))
        assert rows
        wrong = []
        for row in rows:
            page = sites / row.site_name / "content" / "external-resources" / f"{row.filename}.md"
            data = yaml.safe_load(page.read_text().split("---\n")[1])
            if (data["uid"], data["status"], data["wayback_url"]) != (row.content_uuid, row.status, row.wayback_url):
                wrong.append(f"{page.name}: {data['status']}/{data['wayback_url']} != {row.status}/{row.wayback_url}")
        return wrong


def test_site_files_follow_the_check_and_the_captures(
    airflow_db, archive_db_conn, archive_engine, linkfarm, sandbox_runtime, project_dags, monkeypatch, tmp_path
):
    farm = linkfarm(hosts=2)
    wayback = WaybackSandbox(sandbox_runtime, capture_seconds=0.0)
    sites = tmp_path / "sites"
    courses = ("1.00-fall-2026", "2.00-fall-2026")
    for course in courses:
        write_course(sites / course, farm.url)
        make_checkout(sites / course)
    for name, value in {
        "OCW_SITES_DIR": str(sites), "OCW_SITES_GIT_AUTHOR": AUTHOR, "ENABLE_WAYBACK_TASKS": "true",
        "WAYBACK_RATE_LIMIT_PER_SECOND": "50", "LINK_CHECK_TIMEOUT_SECONDS": "5",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"AIRFLOW_VAR_{name}", value)
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", wayback.conn_json())
    base = dt.datetime(2026, 7, 6, 4, tzinfo=dt.UTC)
    write_back = {"site_files_dry_run": False}
    runs = {
        "import": project_dags["external_resource_import"].test(
            logical_date=base - dt.timedelta(hours=1), run_conf={"commit": True, "sites_dir": None, "site_names": []}
        ),
        "check": project_dags["external_resource_check"].test(
            logical_date=base, run_conf={"site_filter": [], "exclude": [], **write_back}
        ),
        "submit": project_dags["wayback_submit"].test(
            logical_date=base + dt.timedelta(minutes=5),
            run_conf={"site_filter": [], "exclude": [], "force": False, "resource_ids": [], **write_back},
        ),
        "poll": project_dags["wayback_status_update"].test(
            logical_date=base + dt.timedelta(hours=6), run_conf={"site_filter": [], "job_ids": [], **write_back}
        ),
    }
    assert {name: str(run.state) for name, run in runs.items()} == dict.fromkeys(runs, "success")
    states = {ti.task_id: str(ti.state) for ti in runs["check"].get_task_instances()}
    assert states["write_site_files"] == "success"

    assert pages_disagreeing_with_the_archive(sites, archive_engine) == []
    with session_scope(archive_engine) as session:
        rows = list(session.scalars(select(ExternalResource)))
        statuses = sorted({row.status for row in rows})
        captured = [row for row in rows if row.wayback_url]
    assert statuses == ["broken", "valid"]  # /status/404 is broken, /head-405 answers its GET retry
    assert captured and all(row.wayback_url.startswith("https://web.archive.org/web/") for row in captured)
    for course in courses:
        subjects = [subject for _, subject in log(sites / course)]
        # Newest first: the captures (6 valid pages got their Wayback URL), the check (7 statuses), the import; the
        # status update found nothing left to write, so it made no commit.
        assert len(subjects) == 4, subjects
        assert subjects[0] == "External resources: link status and Wayback URLs of 6 pages from the archive"
        assert subjects[1] == "External resources: link status and Wayback URLs of 7 pages from the archive"
        assert subjects[2].startswith("External resources: convert 5 links and 1 menu item")
        assert subjects[3] == "Course content"
        assert {author for author, _ in log(sites / course)[:3]} == {AUTHOR}
        assert status(sites / course) == ""
