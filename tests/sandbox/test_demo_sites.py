"""make run's demo course sites: the sandbox's copy links only to the link farm, each course is a git checkout, and
the import converts it cleanly."""

from __future__ import annotations

import re
import shutil

from sqlalchemy import select

from ocw_operators.db import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions
from ocw_sandbox.demo import DEMO_DIR, DEMO_SITE_LINKS, demo_farm_url, seed_demo_sites
from tests.ocw_operators.external_resources.git_sites import log, status

COURSES = ("14.01-microeconomics-fall-2018", "8.01-physics-fall-2016")
_URL = re.compile(r"https?://[^\s)\]>\"'`]+")


def _urls(root) -> set[str]:
    return {url for path in root.rglob("*") if path.is_file() and ".git" not in path.parts
            for url in _URL.findall(path.read_text())}  # fmt: skip


def test_every_link_of_the_demo_courses_is_mapped_to_the_link_farm():
    course_urls = set().union(*(_urls(DEMO_DIR / "sites" / course) for course in COURSES))
    unmapped = {url for url in course_urls if url not in DEMO_SITE_LINKS}
    # What is left is no link of a course: code, the license of resource pages.
    assert unmapped == {"https://code.example.com", "https://en.wikipedia.org/wiki/All_rights_reserved"}


def test_the_copy_points_at_the_farm_is_a_git_checkout_per_course_and_is_kept(tmp_path):
    farm = ["http://127.0.0.1:9101", "http://127.0.0.1:9102"]
    sites = tmp_path / "demo-sites"
    assert seed_demo_sites(sites, farm) is True
    copied = set().union(*(_urls(sites / course) for course in COURSES))
    assert not copied & set(DEMO_SITE_LINKS)
    assert {url for url in copied if url.startswith("http://127.0.0.1:910")} == {
        demo_farm_url(farm, index, path) for index, path in enumerate(DEMO_SITE_LINKS.values())
    }
    assert demo_farm_url(farm, 1, "/redirect/2") == "http://127.0.0.1:9102/redirect/2?link=2"
    for course in COURSES:
        assert log(sites / course) == [("OCW Demo <ocw-demo@localhost>", "Demo course site")]
        assert status(sites / course) == ""
    assert not (sites / "ocw-www" / ".git").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["demo-sites"]  # no staging folder left

    (sites / COURSES[0] / "content" / "pages" / "readings.md").write_text("edited by an operator\n")
    assert seed_demo_sites(sites, farm) is False  # a later start keeps the sites and their history
    assert (sites / COURSES[0] / "content" / "pages" / "readings.md").read_text() == "edited by an operator\n"


def test_the_demo_copy_imports_and_commits_cleanly(archive_engine, tmp_path):
    sites = tmp_path / "demo-sites"
    seed_demo_sites(sites, ["http://127.0.0.1:9101"])
    options = ImportOptions.build(
        sites_dir=sites, rules=("link_to_external_resource", "nav_item_to_external_resource"), run_id="demo",
        commit=True, published_only=True,
    )  # fmt: skip
    report = import_sites(archive_engine, options)
    summary = report.summary()
    assert summary["site_errors"] == [] and summary["sites_processed"] == 2
    assert (summary["resources_created"], summary["resources_loaded"]) == (9, 1)
    with session_scope(archive_engine) as session:
        urls = {row.url for row in session.scalars(select(ExternalResource))}
    assert urls and all(url.startswith("http://127.0.0.1:9101/") for url in urls)
    for course in COURSES:
        assert len(log(sites / course)) == 2 and status(sites / course) == ""
    shutil.rmtree(sites)
