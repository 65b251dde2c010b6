"""Link status and Wayback URLs written back into the sites' external-resource pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select, update

from ocw_operators.db import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources import site_files
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions
from ocw_operators.external_resources.site_files import write_back
from ocw_operators.external_resources.site_git import GitSettings

from .conftest import snapshot_files
from .git_sites import bare_remote, commits_in, git, log, make_checkout, status

LINEAR, SICP_COURSE = "18.06-spring-2010", "6.001-fall-2005"
OCW_HOME = "https://ocw.mit.edu"
OCTAVE = "https://docs.octave.org/latest/"
OCTAVE_WAYBACK = "https://web.archive.org/web/20250101000000/https://docs.octave.org/latest/"
CAPTURE = "https://web.archive.org/web/20260706040000/https://ocw.mit.edu"
BOT = GitSettings.parse("Archive Bot <archive-bot@example.edu>")


@pytest.fixture
def imported(archive_engine, sites_dir):
    """The fixture sites after a committed import: 20 resources, each with its page, all but Octave unchecked."""
    options = ImportOptions.build(
        sites_dir=sites_dir, rules=("link_to_external_resource", "nav_item_to_external_resource"), run_id="import",
        commit=True,
    )  # fmt: skip
    assert import_sites(archive_engine, options).errors == []
    return sites_dir


def set_state(engine, site: str, url: str, **values) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(ExternalResource)
            .where(ExternalResource.site_name == site, ExternalResource.url == url)
            .values(values)
        )


def page_of(sites_dir, engine, site: str, url: str):
    with session_scope(engine) as session:
        row = session.scalars(
            select(ExternalResource).where(ExternalResource.site_name == site, ExternalResource.url == url)
        ).one()
        filename = row.filename
    return sites_dir / site / "content" / "external-resources" / f"{filename}.md"


def front_matter(path) -> dict:
    return yaml.safe_load(path.read_text().split("---\n")[1])


def pages_and_db_agree(sites_dir, engine) -> list[str]:
    """Every page whose status or wayback_url differs from its resource's (empty list: they all agree)."""
    with session_scope(engine) as session:
        rows = {(row.site_name, row.content_uuid): row for row in session.scalars(select(ExternalResource))}
        wrong = []
        for (site, uid), row in rows.items():
            page = sites_dir / site / "content" / "external-resources" / f"{row.filename}.md"
            data = front_matter(page)
            assert data["uid"] == uid
            if data["status"] != row.status or (data.get("wayback_url") or "") != row.wayback_url:
                wrong.append(f"{site}/{page.name}")
        return wrong


def test_changed_values_are_written_in_place_and_nothing_else(archive_engine, imported):
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid", wayback_status="success", wayback_url=CAPTURE)
    set_state(archive_engine, SICP_COURSE, OCW_HOME, status="broken")
    page = page_of(imported, archive_engine, LINEAR, OCW_HOME)
    before_page, before_all = page.read_text(), snapshot_files(imported)

    report = write_back(archive_engine, imported)

    summary = report.summary()
    assert (summary["pages_to_change"], summary["pages_written"], summary["site_errors"]) == (2, 2, {})
    assert page.read_text() == before_page.replace("status: unchecked", "status: valid").replace(
        "wayback_url: ''", f"wayback_url: {CAPTURE}"
    )
    changed = {path for path, value in snapshot_files(imported).items() if before_all[path][0] != value[0]}
    sicp_page = page_of(imported, archive_engine, SICP_COURSE, OCW_HOME)
    assert changed == {page.relative_to(imported).as_posix(), sicp_page.relative_to(imported).as_posix()}
    assert front_matter(sicp_page)["status"] == "broken" and front_matter(sicp_page)["wayback_url"] == ""
    assert pages_and_db_agree(imported, archive_engine) == []
    assert summary["changes"][0].endswith("status unchecked -> valid; wayback_url (empty) -> " + CAPTURE)

    after_first = snapshot_files(imported)
    again = write_back(archive_engine, imported)
    assert again.summary()["pages_to_change"] == 0 and snapshot_files(imported) == after_first


def test_a_dry_run_says_what_would_change_and_writes_nothing(archive_engine, imported):
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid")
    before = snapshot_files(imported)
    report = write_back(archive_engine, imported, dry_run=True)
    assert report.summary()["pages_to_change"] == 1 and report.summary()["pages_written"] == 0
    assert report.sites[0].changes[0].describe().endswith(": status unchecked -> valid")
    assert snapshot_files(imported) == before


def test_an_empty_capture_url_in_the_archive_never_erases_the_pages(archive_engine, imported):
    set_state(archive_engine, LINEAR, OCTAVE, wayback_url="", wayback_status="error", status="broken")
    page = page_of(imported, archive_engine, LINEAR, OCTAVE)
    write_back(archive_engine, imported)
    assert front_matter(page)["wayback_url"] == OCTAVE_WAYBACK and front_matter(page)["status"] == "broken"


def test_a_page_without_the_keys_gets_them_where_yaml_dump_puts_them(archive_engine, imported):
    page = page_of(imported, archive_engine, LINEAR, OCW_HOME)
    page.write_text(page.read_text().replace("status: unchecked\n", "").replace("wayback_url: ''\n", ""))
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid", wayback_url=CAPTURE)
    write_back(archive_engine, imported)
    keys = list(front_matter(page))
    assert keys == sorted(keys) and front_matter(page)["status"] == "valid"
    assert front_matter(page)["wayback_url"] == CAPTURE


def test_sites_are_selected_by_name_or_short_id_and_excluded_alike(archive_engine, imported):
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid")
    set_state(archive_engine, SICP_COURSE, OCW_HOME, status="valid")
    metadata = imported / SICP_COURSE / "data" / "course.json"
    metadata.write_text(metadata.read_text().replace('"title": "Course Metadata"', '"site_short_id": "6.001-f05"'))
    assert [
        site.site for site in write_back(archive_engine, imported, site_filter=["6.001-f05"], dry_run=True).sites
    ] == [SICP_COURSE]
    assert [site.site for site in write_back(archive_engine, imported, exclude=["6.001-f05"], dry_run=True).sites] == [
        LINEAR
    ]


def test_a_page_changed_after_it_was_read_is_skipped_and_reported(archive_engine, imported, monkeypatch):
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid")
    page = page_of(imported, archive_engine, LINEAR, OCW_HOME)
    real_plan = site_files.plan_page_change

    def plan_then_someone_edits(page_read, *args):
        change = real_plan(page_read, *args)
        if change is not None:  # the course team saves the page between our read and our write
            page.write_text(page.read_text().replace("title: MIT OpenCourseWare", "title: MIT OCW"))
        return change

    monkeypatch.setattr(site_files, "plan_page_change", plan_then_someone_edits)
    report = write_back(archive_engine, imported)
    assert front_matter(page)["title"] == "MIT OCW" and front_matter(page)["status"] == "unchecked"
    assert report.summary()["pages_skipped"] == [
        f"{LINEAR}/content/external-resources/{page.name}: changed on disk since it was read; left for the next run"
    ]
    monkeypatch.setattr(site_files, "plan_page_change", real_plan)
    write_back(archive_engine, imported)  # the next run writes it, keeping the edit
    assert front_matter(page)["title"] == "MIT OCW" and front_matter(page)["status"] == "valid"


# --- git checkouts --------------------------------------------------------------------------------------------------


@pytest.fixture
def checkouts(imported):
    for site in (LINEAR, SICP_COURSE):
        make_checkout(imported / site)
    return imported


def test_one_commit_per_changed_site_per_run_by_the_configured_author(archive_engine, checkouts):
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid", wayback_url=CAPTURE)
    set_state(archive_engine, LINEAR, OCTAVE, status="broken")
    report = write_back(archive_engine, checkouts, git=BOT, context="external_resource_check run r1")
    history = log(checkouts / LINEAR)
    assert [author for author, _ in history] == [BOT.author, "Course Team <team@example.edu>"]
    assert history[0][1] == "External resources: link status and Wayback URLs of 2 pages from the archive"
    body = git(checkouts / LINEAR, "log", "-1", "--format=%b")
    assert "Written by external_resource_check run r1 from the archive DB." in body
    assert "status unchecked -> valid; wayback_url (empty) -> " + CAPTURE in body
    assert status(checkouts / LINEAR) == ""
    assert report.summary()["commits"] == {LINEAR: git(checkouts / LINEAR, "rev-parse", "HEAD").strip()}
    assert len(log(checkouts / SICP_COURSE)) == 1  # nothing changed there: no commit

    write_back(archive_engine, checkouts, git=BOT)
    assert len(log(checkouts / LINEAR)) == 2  # a rerun has nothing to write


def test_a_page_with_someone_elses_uncommitted_changes_is_left_alone(archive_engine, checkouts):
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid")
    set_state(archive_engine, LINEAR, OCTAVE, status="broken")
    page = page_of(checkouts, archive_engine, LINEAR, OCW_HOME)
    page.write_text(page.read_text().replace("title: MIT OpenCourseWare", "title: MIT OCW (draft)"))
    report = write_back(archive_engine, checkouts, git=BOT)
    assert front_matter(page)["status"] == "unchecked"
    assert report.sites[0].skipped == [
        (
            page.relative_to(checkouts / LINEAR).as_posix(),
            "has changes not committed to git; commit or discard them, then rerun",
        )
    ]
    assert git(checkouts / LINEAR, "show", "--stat", "--format=", "HEAD").count("|") == 1  # only Octave's page


def test_commits_are_pushed_to_the_configured_remote_and_a_failed_push_is_retried(archive_engine, checkouts, tmp_path):
    bare = bare_remote(tmp_path, checkouts / LINEAR)
    git(checkouts / LINEAR, "push", "--quiet", "origin", "main")
    set_state(archive_engine, LINEAR, OCW_HOME, status="valid")
    write_back(archive_engine, checkouts, git=BOT)
    assert commits_in(bare) == 1  # a remote exists, but pushing was not configured

    pushing = GitSettings.parse(BOT.author, "origin", timeout_s=30)
    git(checkouts / LINEAR, "remote", "set-url", "origin", str(tmp_path / "missing.git"))
    set_state(archive_engine, LINEAR, OCTAVE, status="broken")
    failed = write_back(archive_engine, checkouts, git=pushing)
    assert "git push failed" in failed.summary()["site_errors"][LINEAR]
    assert len(log(checkouts / LINEAR)) == 3  # committed locally all the same

    git(checkouts / LINEAR, "remote", "set-url", "origin", str(bare))
    retried = write_back(archive_engine, checkouts, git=pushing)
    assert retried.summary()["pushed"] == [LINEAR] and retried.summary()["commits"] == {}
    assert commits_in(bare) == 3
