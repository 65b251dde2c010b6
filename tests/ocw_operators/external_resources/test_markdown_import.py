"""The import over the fixture course sites, on SQLite and PostgreSQL: dry run, commit, CSV, reruns, bad input."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from sqlalchemy import select, text

from ocw_operators.db import session_scope
from ocw_operators.db.models import ExternalResource, ExternalResourceReference
from ocw_operators.external_resources import persistence, rewriting
from ocw_operators.external_resources.identity import resource_uuid
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions, ImportOptionsError
from ocw_operators.external_resources.store import created_resource_ids

from .conftest import FIXTURES, snapshot_files

BOTH_RULES = ("link_to_external_resource", "nav_item_to_external_resource")
EXPECTED = FIXTURES / "expected" / "18.06-spring-2010"
OCW_HOME = "https://ocw.mit.edu"
WIKIPEDIA = "https://en.wikipedia.org/wiki/Function_(mathematics)"
SICP = "https://mitpress.mit.edu/sites/default/files/sicp/index.html"
OCTAVE = "https://docs.octave.org/latest/"
OCTAVE_UID = "0c7a2e11-5b3d-4f6a-9e8d-7c6b5a4f3e2d"  # the page ocw-studio made for it in 18.06
LINEAR, SICP_COURSE = "18.06-spring-2010", "6.001-fall-2005"
HOME_PAGE = "content/pages/course-home.md"
# Every file of 18.06 the import rewrites: bodies, front matter fields, the course description and the menu.
REWRITTEN = (
    HOME_PAGE,
    "content/pages/syllabus.md",
    "content/pages/readings/supplementary-notes.md",
    "content/resources/18-06s10-cover.md",
    "content/resources/lecture-1-video.md",
    "data/course.json",
    "config/_default/menus.yaml",
)


def run(engine, sites_dir: Path, *, run_id: str = "run-1", rules=BOTH_RULES, **options):
    options.setdefault("commit", True)
    return import_sites(engine, ImportOptions.build(sites_dir=sites_dir, rules=rules, run_id=run_id, **options))


def resources(engine) -> dict[tuple[str, str], ExternalResource]:
    """Stored resources by (site, URL): each is one site's."""
    with session_scope(engine) as session:
        return {(row.site_name, row.url): row for row in session.scalars(select(ExternalResource))}


def urls(engine) -> set[str]:
    return {url for _, url in resources(engine)}


def references(engine) -> set[tuple[str, str, str, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(ExternalResource.url, ExternalResource.site_name, ExternalResourceReference).join(
                ExternalResourceReference, ExternalResourceReference.resource_id == ExternalResource.id
            )
        ).all()
        # A page references its own site's resource only.
        assert all(site == ref.site_name for _, site, ref in rows)
        return {(url, ref.site_name, ref.source_path, ref.source_kind) for url, _, ref in rows}


def db_snapshot(engine) -> list[tuple]:
    with engine.connect() as connection:
        resource_rows = connection.execute(text("SELECT * FROM external_resource ORDER BY id")).all()
        reference_rows = connection.execute(text("SELECT * FROM external_resource_reference ORDER BY id")).all()
    return [tuple(row) for row in resource_rows] + [tuple(row) for row in reference_rows]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- commit ------------------------------------------------------------------------------------------------


def test_commit_rewrites_pages_fields_metadata_and_menus_exactly(archive_engine, sites_dir):
    run(archive_engine, sites_dir)
    site = sites_dir / "18.06-spring-2010"
    for relative in REWRITTEN:
        assert (site / relative).read_text() == (EXPECTED / relative).read_text(), relative


def test_commit_keeps_front_matter_and_windows_newlines(archive_engine, sites_dir):
    page = sites_dir / "18.06-spring-2010" / "content" / "pages" / "readings.md"
    front_matter = page.read_bytes().split(b"---\r\n")[1]
    run(archive_engine, sites_dir)
    rewritten = page.read_bytes()
    assert rewritten.split(b"---\r\n")[1] == front_matter
    assert b"\n" not in rewritten.replace(b"\r\n", b"")
    # An escaped quote in the link text stays a quote, escaped for the shortcode; the entity in the URL is decoded.
    uuid = resource_uuid(LINEAR, "https://example.com/read?id=7&lang=en")
    assert f'{{{{% resource_link "{uuid}" "Matrices & \\"quoted\\" things" %}}}}'.encode() in rewritten
    assert b"[tab link](javascript:alert(1))" in rewritten  # not http(s): left alone


def test_commit_records_one_resource_per_site_and_url_with_stable_fields(archive_engine, sites_dir):
    report = run(archive_engine, sites_dir)
    stored = resources(archive_engine)
    # 19 URLs, two of them linked from both courses: 21 resources (ocw-studio's rule: one per site and URL), of
    # which one (the Octave manual) was loaded from the page 18.06 already had.
    assert len(stored) == 21
    assert report.summary()["resources_created"] == 20 and report.summary()["resources_loaded"] == 1
    assert len(urls(archive_engine)) == 19
    home = stored[(LINEAR, OCW_HOME)]
    assert home.content_uuid == resource_uuid(LINEAR, OCW_HOME)
    assert home.title == "MIT OpenCourseWare"
    assert home.filename == f"mit-opencourseware_{home.content_uuid}"
    assert home.site_name == "18.06-spring-2010"
    assert home.created_by_run == "run-1"
    assert home.status == "unchecked" and home.wayback_status == ""
    bracketed = stored[(LINEAR, "https://math.mit.edu/~gs/")]
    assert bracketed.title == "Gilbert Strang [MIT] homepage"
    youtube = (LINEAR, "https://www.youtube.com/playlist?list=PLE7DDD91010BC51F8")
    assert stored[youtube].title == "video playlist"  # its first link (in the course description) names it
    # Autolinks have no text: the URL is the title.
    assert stored[(LINEAR, "https://piazza.com/mit/spring2010/1806")].title == "https://piazza.com/mit/spring2010/1806"
    # A link around an image is named by the image's alt text when it has no other text.
    assert stored[(LINEAR, "https://creativecommons.org/licenses/by-nc-sa/4.0/")].title == "Creative Commons badge"
    # Untouched: images, code, comments, shortcodes, non-course sites and invalid URLs.
    for url in urls(archive_engine):
        assert "example.com/" not in url or url.startswith(("https://example.com/read", "https://example.com/tick"))
    assert "https://news.mit.edu/" not in urls(archive_engine)
    assert "/images/matrix.png" not in urls(archive_engine)


def test_duplicates_across_pages_and_menus_share_one_resource_and_each_site_has_its_own(archive_engine, sites_dir):
    run(archive_engine, sites_dir)
    refs = references(archive_engine)  # each reference is to its own site's resource
    assert {ref for ref in refs if ref[0] == OCW_HOME} == {
        (OCW_HOME, "18.06-spring-2010", HOME_PAGE, "page"),
        (OCW_HOME, "18.06-spring-2010", "content/pages/syllabus.md", "page"),
        (OCW_HOME, "18.06-spring-2010", "config/_default/menus.yaml", "menu"),
        (OCW_HOME, "6.001-fall-2005", "content/pages/syllabus.md", "page"),
    }
    assert {ref[1] for ref in refs if ref[0] == WIKIPEDIA} == {"18.06-spring-2010", "6.001-fall-2005"}
    assert {(ref[2], ref[3]) for ref in refs if ref[0] == SICP} == {
        ("content/pages/syllabus.md", "page"),
        ("config/_default/menus.yaml", "menu"),
    }
    stored = resources(archive_engine)
    for site, page in ((LINEAR, HOME_PAGE), (SICP_COURSE, "content/pages/syllabus.md")):
        uuid = stored[(site, OCW_HOME)].content_uuid
        assert uuid == resource_uuid(site, OCW_HOME)
        assert f'{{{{% resource_link "{uuid}" "MIT OpenCourseWare" %}}}}' in (sites_dir / site / page).read_text()
    assert stored[(LINEAR, OCW_HOME)].id != stored[(SICP_COURSE, OCW_HOME)].id


def test_each_referencing_site_gets_its_own_resource_and_page(archive_engine, sites_dir):
    run(archive_engine, sites_dir)
    for site in (LINEAR, SICP_COURSE):
        uuid = resource_uuid(site, WIKIPEDIA)
        assert resources(archive_engine)[(site, WIKIPEDIA)].content_uuid == uuid
        page = sites_dir / site / "content" / "external-resources" / f"function-mathematics_{uuid}.md"
        # As ocw-studio's serializer writes it: yaml.dump (keys sorted), _build, an empty body.
        assert page.read_text() == (
            "---\n_build:\n  list: true\n  render: false\ncontent_type: external-resource\n"
            f"external_url: {WIKIPEDIA}\nhas_external_license_warning: true\n"
            "license: https://en.wikipedia.org/wiki/All_rights_reserved\nstatus: unchecked\n"
            f"title: Function (mathematics)\nuid: {uuid}\nwayback_url: ''\n---\n"
        )


def test_menu_children_follow_their_converted_parent(archive_engine, sites_dir):
    import yaml

    run(archive_engine, sites_dir)
    menu = yaml.safe_load((sites_dir / "18.06-spring-2010" / "config/_default/menus.yaml").read_text())["leftnav"]
    by_name = {item["name"]: item for item in menu}
    parent = by_name["Related [Video] Lectures"]
    assert "url" not in parent and parent["identifier"] == resource_uuid(
        LINEAR, "https://www.youtube.com/playlist?list=PLE7DDD91010BC51F8"
    )
    assert by_name["Lecture 1 on YouTube"]["parent"] == parent["identifier"]
    assert by_name["Syllabus"]["url"] == "/pages/syllabus"  # internal items untouched
    assert by_name["Broken entry"]["url"] == "https://exa mple.com/space"  # invalid URL left as it was


def test_rerunning_a_commit_changes_nothing(archive_engine, sites_dir):
    run(archive_engine, sites_dir, run_id="first")
    files_before, db_before = snapshot_files(sites_dir), db_snapshot(archive_engine)
    report = run(archive_engine, sites_dir, run_id="second")
    assert snapshot_files(sites_dir) == files_before
    assert db_snapshot(archive_engine) == db_before
    assert created_resource_ids(archive_engine, "second") == []
    summary = report.summary()
    assert (summary["links_converted"], summary["nav_items_converted"], summary["files_rewritten"]) == (0, 0, 0)


def test_created_resource_ids_are_those_the_run_inserted(archive_engine, sites_dir):
    run(archive_engine, sites_dir, run_id="run-a", rules=("nav_item_to_external_resource",))
    first = created_resource_ids(archive_engine, "run-a")
    run(archive_engine, sites_dir, run_id="run-b", rules=("link_to_external_resource",))
    second = created_resource_ids(archive_engine, "run-b")
    # The menu rule's 4 resources and the Octave page loaded whatever the rules; then 18.06's 14 link-only URLs and
    # 6.001's links to the home page and the article, its own resources, not 18.06's menu items'.
    assert len(first) == 5 and len(second) == 14 + 2 and not set(first) & set(second)
    stored = resources(archive_engine)
    assert stored[(LINEAR, OCW_HOME)].created_by_run == "run-a"  # created by the menu rule, reused by the link rule
    assert stored[(SICP_COURSE, OCW_HOME)].created_by_run == "run-b"


# --- existing resources and license warnings ------------------------------------------------------------------


def test_an_existing_resource_of_the_site_is_reused_as_it_is_and_another_sites_is_not(archive_engine, sites_dir):
    existing = {"title": "OCW (created in the CMS)", "url": OCW_HOME, "has_external_license_warning": True}
    with session_scope(archive_engine) as session:
        session.add(ExternalResource(content_uuid="0b5f9a9e-0000-4000-8000-00000000cafe", site_name=LINEAR, **existing))
        other_site = ExternalResource(
            content_uuid="0b5f9a9e-0000-4000-8000-0000000000ff", site_name="21h-001-history", **existing
        )
        session.add(other_site)
    report = run(archive_engine, sites_dir)
    stored = resources(archive_engine)
    assert len(stored) == 22  # the 21 of the two courses (18.06's home page among them) and 21H.001's
    home = stored[(LINEAR, OCW_HOME)]
    assert (home.content_uuid, home.title, home.has_external_license_warning, home.created_by_run) == (
        "0b5f9a9e-0000-4000-8000-00000000cafe",
        "OCW (created in the CMS)",
        True,
        "",
    )
    index = (sites_dir / "18.06-spring-2010" / HOME_PAGE).read_text()
    assert '{{% resource_link "0b5f9a9e-0000-4000-8000-00000000cafe" "MIT OpenCourseWare" %}}' in index
    home_rows = [row for row in report.rows if row.url == OCW_HOME and row.site_name == LINEAR]
    assert {row.resource_action.value for row in home_rows} == {"reused"}
    # Another course's resource with the same URL is that course's: 6.001 gets its own, 21H.001's is untouched.
    assert stored[(SICP_COURSE, OCW_HOME)].content_uuid == resource_uuid(SICP_COURSE, OCW_HOME)
    assert {
        row.resource_action.value for row in report.rows if row.url == OCW_HOME and row.site_name == SICP_COURSE
    } == {"created"}
    assert (stored[("21h-001-history", OCW_HOME)].id, stored[("21h-001-history", OCW_HOME)].created_by_run) == (
        other_site.id,
        "",
    )


def test_default_license_warning_follows_the_sitemap_domain(archive_engine, sites_dir):
    run(archive_engine, sites_dir)
    flags = {key: row.has_external_license_warning for key, row in resources(archive_engine).items()}
    assert flags.pop((LINEAR, OCW_HOME)) is False and flags.pop((SICP_COURSE, OCW_HOME)) is False
    assert flags and all(flags.values())


def test_sitemap_domain_is_a_setting(archive_engine, sites_dir):
    run(archive_engine, sites_dir, sitemap_domain="math.mit.edu")
    flags = {key: row.has_external_license_warning for key, row in resources(archive_engine).items()}
    assert flags[(LINEAR, OCW_HOME)] is True
    assert flags[(LINEAR, "https://math.mit.edu/~gs/")] is False


@pytest.mark.parametrize(
    ("flag", "expected"), [("add_external_license_warning", True), ("no_external_license_warning", False)]
)
def test_license_flags_apply_to_every_domain(archive_engine, sites_dir, flag, expected):
    run(archive_engine, sites_dir, **{flag: True})
    stored = resources(archive_engine)
    # A resource loaded from its page keeps the page's flag: the flags apply to new resources only.
    assert stored.pop((LINEAR, OCTAVE)).has_external_license_warning is True
    assert {row.has_external_license_warning for row in stored.values()} == {expected}


# --- dry run and CSV ----------------------------------------------------------------------------------------------


def test_dry_run_reports_to_csv_and_changes_nothing(archive_engine, sites_dir, tmp_path):
    before = snapshot_files(sites_dir)
    out = tmp_path / "external_links.csv"
    report = run(archive_engine, sites_dir, commit=False, out_csv=out)
    assert snapshot_files(sites_dir) == before
    assert db_snapshot(archive_engine) == []
    rows = read_csv(out)
    converted = [row for row in rows if row["note"] == "converted"]
    assert len(converted) == 30 == report.summary()["links_converted"] + report.summary()["nav_items_converted"]
    assert sum(row["resource_action"] == "would_create" for row in rows) == 20
    (loaded,) = [row for row in rows if row["resource_action"] == "would_load"]
    assert (loaded["url"], loaded["resource_uuid"]) == (OCTAVE, OCTAVE_UID)
    first = converted[0]
    assert (first["source_path"], first["field"], first["line"]) == (HOME_PAGE, "markdown", "7")
    assert first["replacement"].startswith('{{% resource_link "bc1e0108-a3b2-5277-a4fb-e0acc58d3ef7"')
    notes = {row["site_name"]: row["note"] for row in rows if row["note"].startswith("site skipped")}
    assert notes == {
        "notes": "site skipped: no data/course.json: not a course site",
        "ocw-www": "site skipped: no data/course.json: not a course site",
    }
    left_alone = {row["url"]: row["note"] for row in rows if row["note"].startswith("left alone")}
    assert left_alone == {"https://exa mple.com/space": "left alone: URL contains whitespace or control characters"}


def test_commit_with_csv_does_both_and_the_csv_matches_the_commit(archive_engine, sites_dir, tmp_path):
    out = tmp_path / "results.csv"
    run(archive_engine, sites_dir, out_csv=out)
    rows = read_csv(out)
    created = {row["resource_uuid"] for row in rows if row["resource_action"] == "created"}
    loaded = {row["resource_uuid"] for row in rows if row["resource_action"] == "loaded"}
    assert loaded == {OCTAVE_UID}
    assert created | loaded == {row.content_uuid for row in resources(archive_engine).values()}
    assert "resource_link" in (sites_dir / "6.001-fall-2005" / "content" / "pages" / "syllabus.md").read_text()


def test_dry_run_and_commit_plan_the_same_resources(archive_engine, sites_dir, tmp_path):
    run(archive_engine, sites_dir, commit=False, out_csv=tmp_path / "dry.csv")
    run(archive_engine, sites_dir, out_csv=tmp_path / "commit.csv")
    strip = [
        {key: value for key, value in row.items() if key != "resource_action"} for row in read_csv(tmp_path / "dry.csv")
    ]
    assert strip == [
        {key: value for key, value in row.items() if key != "resource_action"}
        for row in read_csv(tmp_path / "commit.csv")
    ]


def test_csv_cells_cannot_become_spreadsheet_formulas(archive_engine, sites_dir, tmp_path):
    site = sites_dir / "18.06-spring-2010"
    (site / "data" / "course.json").write_text('{"site_short_id": "=HYPERLINK(\\"https://evil.example\\")"}')
    (site / "content" / "pages" / "formula.md").write_text("---\nuid: +SUM(1)\n---\n[x](https://example.com/f)\n")
    run(archive_engine, sites_dir, commit=False, out_csv=tmp_path / "out.csv", site_names=["18.06-spring-2010"])
    row = next(row for row in read_csv(tmp_path / "out.csv") if row["url"] == "https://example.com/f")
    assert row["site_short_id"] == '\'=HYPERLINK("https://evil.example")'
    assert row["source_uid"] == "'+SUM(1)"


# --- options and scope ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"commit": False}, "dry run by default"),
        ({"add_external_license_warning": True, "no_external_license_warning": True}, "mutually exclusive"),
        ({"rules": ()}, "at least one rule"),
        ({"rules": ("link_to_external_resource", "resolveuid")}, "unknown rule"),
    ],
)
def test_invalid_options_are_refused_before_anything_runs(tmp_path, options, message):
    values = {"sites_dir": tmp_path, "rules": BOTH_RULES, "run_id": "r", "commit": True, **options}
    with pytest.raises(ImportOptionsError, match=message):
        ImportOptions.build(**values)


def test_published_only_skips_the_courses_published_txt_does_not_name(archive_engine, sites_dir):
    before = snapshot_files(sites_dir / "6.001-fall-2005")
    report = run(archive_engine, sites_dir, published_only=True)
    assert snapshot_files(sites_dir / "6.001-fall-2005") == before
    skipped = {"site": "6.001-fall-2005", "reason": "not published (not in published.txt)"}
    assert skipped in report.summary()["sites_skipped"]
    assert SICP not in urls(archive_engine) and OCW_HOME in urls(archive_engine)


def test_published_txt_names_sites_by_folder_name_or_short_id(archive_engine, sites_dir):
    metadata = sites_dir / SICP_COURSE / "data" / "course.json"
    metadata.write_text(metadata.read_text().replace('"title": "Course Metadata"', '"site_short_id": "6.001-f05"'))
    (sites_dir / "published.txt").write_text("6.001-f05  # by short id\n\n")
    report = run(archive_engine, sites_dir, published_only=True)
    assert [site.name for site in report.sites if site.status == "processed"] == [SICP_COURSE]
    assert {row.site_short_id for row in report.rows if row.site_name == SICP_COURSE} == {"6.001-f05"}


def test_published_only_without_published_txt_is_a_clear_error(archive_engine, sites_dir):
    (sites_dir / "published.txt").unlink()
    before = snapshot_files(sites_dir)
    with pytest.raises(FileNotFoundError, match=r"published_only needs .*published\.txt"):
        run(archive_engine, sites_dir, published_only=True)
    assert snapshot_files(sites_dir) == before and db_snapshot(archive_engine) == []


def test_non_course_sites_are_skipped_and_left_untouched(archive_engine, sites_dir):
    before = snapshot_files(sites_dir / "ocw-www")
    report = run(archive_engine, sites_dir)
    assert snapshot_files(sites_dir / "ocw-www") == before
    assert [site.name for site in report.sites if site.status == "processed"] == [
        "18.06-spring-2010",
        "6.001-fall-2005",
    ]


def test_each_rule_runs_on_its_own(archive_engine, sites_dir):
    page = sites_dir / "18.06-spring-2010" / HOME_PAGE
    before = page.read_bytes()
    run(archive_engine, sites_dir, rules=("nav_item_to_external_resource",))
    assert page.read_bytes() == before
    assert "https://ocw.mit.edu" not in (sites_dir / "18.06-spring-2010/config/_default/menus.yaml").read_text()


def test_a_missing_sites_directory_is_a_clear_error(archive_engine, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run(archive_engine, tmp_path / "nowhere")


# --- bad input ------------------------------------------------------------------------------------------------------


def test_bad_files_are_reported_left_untouched_and_the_rest_is_converted(archive_engine, sites_dir, tmp_path):
    course = sites_dir / "18.06-spring-2010"
    bad_front_matter = course / "content" / "pages" / "bad-front-matter.md"
    bad_front_matter.write_text("---\ntitle: [unclosed\n---\n[x](https://example.com/a)\n")
    not_utf8 = course / "content" / "pages" / "latin1.md"
    not_utf8.write_bytes("[caf\xe9](https://example.com/b)\n".encode("latin-1"))
    outside = tmp_path / "outside.md"
    outside.write_text("[secret](https://example.com/outside)\n")
    (course / "content" / "pages" / "linked.md").symlink_to(outside)
    (sites_dir / "6.001-fall-2005" / "config" / "_default" / "menus.yaml").write_text("leftnav: [unclosed\n")
    (sites_dir / "mirror").symlink_to(course)
    bad_files = [bad_front_matter, not_utf8, outside, sites_dir / "6.001-fall-2005/config/_default/menus.yaml"]
    before = {path: path.read_bytes() for path in bad_files}

    report = run(archive_engine, sites_dir)

    assert {path: path.read_bytes() for path in bad_files} == before
    errors = {site["site"]: site["error"] for site in report.summary()["site_errors"]}
    assert set(errors) == {"18.06-spring-2010", "6.001-fall-2005"}
    assert "content/pages/bad-front-matter.md: malformed front matter" in errors["18.06-spring-2010"]
    assert "content/pages/latin1.md: latin1.md is not valid UTF-8" in errors["18.06-spring-2010"]
    assert "linked.md is a symlink; refusing to follow it" in errors["18.06-spring-2010"]
    assert "config/_default/menus.yaml: malformed YAML" in errors["6.001-fall-2005"]
    assert {"site": "mirror", "reason": "site folder is a symlink; not followed"} in report.summary()["sites_skipped"]
    stored = urls(archive_engine)
    assert "https://example.com/outside" not in stored and "https://example.com/a" not in stored
    # Everything else was still converted, including the 6.001 pages next to its broken menu.
    assert (course / HOME_PAGE).read_text() == (EXPECTED / HOME_PAGE).read_text()
    assert SICP in stored


def test_site_metadata_must_be_well_formed(archive_engine, sites_dir):
    (sites_dir / "6.001-fall-2005" / "data" / "course.json").write_text('{"course_title": "SICP", "site_uid": 7}')
    report = run(archive_engine, sites_dir)
    assert {"site": "6.001-fall-2005", "error": "data/course.json: 'site_uid' must be a string, not int"} in (
        report.summary()["site_errors"]
    )


def test_a_hostile_site_folder_name_is_skipped(archive_engine, sites_dir):
    (sites_dir / "bad name;rm -rf").mkdir()
    report = run(archive_engine, sites_dir)
    assert {"site": "bad name;rm -rf", "reason": "folder name is not a valid site name"} in report.summary()[
        "sites_skipped"
    ]


# --- crash safety -----------------------------------------------------------------------------------------------------


def test_a_crash_after_the_db_commit_is_finished_by_the_rerun(archive_engine, sites_dir, monkeypatch):
    real_write = rewriting.atomic_write_text
    calls = {"count": 0}

    def failing_write(path, text, **kwargs):
        calls["count"] += 1
        if calls["count"] == 3:
            raise OSError(28, "No space left on device")
        real_write(path, text, **kwargs)

    monkeypatch.setattr(rewriting, "atomic_write_text", failing_write)
    report = run(archive_engine, sites_dir, run_id="crashed")
    assert report.errors and "No space left on device" in report.errors[0].reason
    monkeypatch.setattr(rewriting, "atomic_write_text", real_write)

    run(archive_engine, sites_dir, run_id="rerun")

    assert len(resources(archive_engine)) == 21
    assert created_resource_ids(archive_engine, "rerun") == []  # the crashed run had created them all
    site = sites_dir / "18.06-spring-2010"
    for relative in REWRITTEN:
        assert (site / relative).read_text() == (EXPECTED / relative).read_text(), relative


def test_a_page_edited_during_the_import_is_not_overwritten(archive_engine, sites_dir, monkeypatch):
    page = sites_dir / "18.06-spring-2010" / "content" / "pages" / "syllabus.md"
    real_persist = persistence.persist_site

    def persist_then_someone_edits(engine, plan, run_id):
        real_persist(engine, plan, run_id)
        if plan.meta.name == "18.06-spring-2010":
            page.write_text(page.read_text() + "\nA late edit by the course author.\n")

    monkeypatch.setattr(persistence, "persist_site", persist_then_someone_edits)
    report = run(archive_engine, sites_dir)
    assert page.read_text().endswith("A late edit by the course author.\n")
    assert "changed on disk during the import" in report.errors[0].reason


def test_writes_leave_no_temporary_files(archive_engine, sites_dir):
    run(archive_engine, sites_dir)
    leftovers = [name for _, _, files in os.walk(sites_dir) for name in files if name.endswith(".tmp")]
    assert leftovers == []


def test_the_demo_site_set_imports_cleanly(archive_engine, tmp_path):
    import shutil

    demo = tmp_path / "demo"
    shutil.copytree(FIXTURES.parents[1] / "include" / "demo" / "sites", demo)
    report = run(archive_engine, demo)
    summary = report.summary()
    assert summary["site_errors"] == []
    assert summary["sites_processed"] == 2
    assert summary["resources_created"] == 9  # one URL is linked from both demo courses: a resource each
    assert summary["resources_loaded"] == 1  # 8.01's Wolfram Alpha page, made in ocw-studio
    assert "https://code.example.com" not in urls(archive_engine)


def test_a_menu_with_comments_is_not_rewritten(archive_engine, sites_dir):
    menus = sites_dir / "6.001-fall-2005" / "config" / "_default" / "menus.yaml"
    menus.write_text("# Maintained by the course team\n" + menus.read_text())
    before = menus.read_bytes()
    report = run(archive_engine, sites_dir, rules=("nav_item_to_external_resource",))
    assert menus.read_bytes() == before
    assert "has YAML comments that rewriting would drop" in report.errors[0].reason
    assert (sites_dir / "18.06-spring-2010/config/_default/menus.yaml").read_text() == (
        EXPECTED / "config/_default/menus.yaml"
    ).read_text()
