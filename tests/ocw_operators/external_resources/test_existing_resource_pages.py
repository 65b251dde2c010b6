"""External-resource pages a site already has (made in ocw-studio) are its resources: loaded, reused, never doubled."""

from __future__ import annotations

from sqlalchemy import select

from ocw_operators.db import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions
from ocw_operators.external_resources.resource_pages import STUDIO_FIELDS, render_resource_page

from .conftest import snapshot_files

LINEAR = "18.06-spring-2010"
OCTAVE = "https://docs.octave.org/latest/"
OCTAVE_UID = "0c7a2e11-5b3d-4f6a-9e8d-7c6b5a4f3e2d"
OCTAVE_PAGE = f"content/external-resources/gnu-octave-manual_{OCTAVE_UID}.md"
BOTH_RULES = ("link_to_external_resource", "nav_item_to_external_resource")


def run(engine, sites_dir, run_id="run-1", **options):
    options.setdefault("commit", True)
    return import_sites(engine, ImportOptions.build(sites_dir=sites_dir, rules=BOTH_RULES, run_id=run_id, **options))


def stored(engine) -> dict[tuple[str, str], ExternalResource]:
    with session_scope(engine) as session:
        return {(row.site_name, row.url): row for row in session.scalars(select(ExternalResource))}


def test_a_page_is_loaded_with_what_it_says_and_links_to_its_url_name_it(archive_engine, sites_dir):
    page = sites_dir / LINEAR / OCTAVE_PAGE
    before = page.read_bytes()
    run(archive_engine, sites_dir)
    octave = stored(archive_engine)[(LINEAR, OCTAVE)]
    assert (octave.content_uuid, octave.title, octave.filename) == (OCTAVE_UID, "GNU Octave manual", page.stem)
    assert (octave.status, octave.has_external_license_warning) == ("valid", True)
    assert (octave.wayback_status, octave.wayback_url) == (
        "success",
        "https://web.archive.org/web/20250101000000/https://docs.octave.org/latest/",
    )
    assert page.read_bytes() == before  # the page itself is ocw-studio's: never rewritten by the import
    notes = (sites_dir / LINEAR / "content/pages/readings/supplementary-notes.md").read_text()
    assert notes.count(f'resource_link "{OCTAVE_UID}"') == 2  # its body and its description
    pages = sorted((sites_dir / LINEAR / "content/external-resources").iterdir())
    assert [path.name for path in pages].count(page.name) == 1
    assert not [path for path in pages if path != page and "octave" in path.name]


def test_a_second_page_for_the_same_url_is_reported_and_not_loaded(archive_engine, sites_dir):
    duplicate = sites_dir / LINEAR / "content/external-resources/octave-again_aaaaaaaa-0000-4000-8000-000000000001.md"
    duplicate.write_text(
        render_resource_page(
            uid="aaaaaaaa-0000-4000-8000-000000000001", title="Octave", url=OCTAVE, has_external_license_warning=True
        )
    )
    report = run(archive_engine, sites_dir)
    assert report.errors == []
    assert stored(archive_engine)[(LINEAR, OCTAVE)].content_uuid == OCTAVE_UID  # the first page, by path, wins
    (row,) = [row for row in report.rows if row.source_path.endswith(duplicate.name)]
    assert row.note == f"external resource page not loaded: {OCTAVE} is resource {OCTAVE_UID}"


def test_a_page_whose_url_the_archive_holds_under_another_uuid_leaves_links_to_it_alone(archive_engine, sites_dir):
    with session_scope(archive_engine) as session:
        session.add(ExternalResource(content_uuid="0b5f9a9e-0000-4000-8000-00000000beef", site_name=LINEAR, url=OCTAVE))
    report = run(archive_engine, sites_dir)
    (error,) = report.errors
    assert f"{OCTAVE_PAGE}: {OCTAVE} is stored in the archive DB as resource 0b5f9a9e" in error.reason
    left = {row.source_path for row in report.rows if row.url == OCTAVE and row.note.startswith("left alone")}
    assert left == {"content/pages/course-home.md", "content/pages/readings/supplementary-notes.md"}
    assert (
        "[octave]: https://docs.octave.org/latest/"
        in (sites_dir / LINEAR / "content/pages/readings/supplementary-notes.md").read_text()
    )
    assert len(list((sites_dir / LINEAR / "content/external-resources").glob("*octave*"))) == 1


def test_a_page_whose_uid_the_archive_holds_for_another_url_is_not_loaded(archive_engine, sites_dir):
    with session_scope(archive_engine) as session:
        session.add(ExternalResource(content_uuid=OCTAVE_UID, site_name=LINEAR, url="https://octave.example.org/old"))
    report = run(archive_engine, sites_dir)
    assert f"uid {OCTAVE_UID} is stored in the archive DB for another URL" in report.errors[0].reason
    assert (LINEAR, OCTAVE) in stored(archive_engine)  # links to the URL got a resource of their own


def test_an_unusable_page_is_an_error_and_the_rest_of_the_site_is_converted(archive_engine, sites_dir):
    broken = sites_dir / LINEAR / "content/external-resources/no-url_bbbbbbbb-0000-4000-8000-000000000002.md"
    broken.write_text("---\ncontent_type: external-resource\ntitle: No URL\nuid: bbbbbbbb\n---\n")
    before = broken.read_bytes()
    report = run(archive_engine, sites_dir)
    assert f"content/external-resources/{broken.name}: external resource page without an external_url" in (
        report.errors[0].reason
    )
    assert broken.read_bytes() == before and (LINEAR, OCTAVE) in stored(archive_engine)


def test_a_dry_run_says_which_pages_it_would_load_and_loads_none(archive_engine, sites_dir, tmp_path):
    before = snapshot_files(sites_dir)
    report = run(archive_engine, sites_dir, commit=False, out_csv=tmp_path / "r.csv")
    assert report.summary()["resources_would_load"] == 1 and stored(archive_engine) == {}
    assert snapshot_files(sites_dir) == before


def test_new_pages_carry_every_field_of_the_studio_type(archive_engine, sites_dir):
    import yaml

    run(archive_engine, sites_dir)
    for path in (sites_dir / LINEAR / "content/external-resources").glob("*.md"):
        data = yaml.safe_load(path.read_text().split("---\n")[1])
        assert set(STUDIO_FIELDS) <= set(data), path.name
        assert data["content_type"] == "external-resource" and path.stem.endswith(data["uid"])
