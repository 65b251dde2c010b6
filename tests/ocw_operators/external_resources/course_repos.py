"""The import over checkouts of real published course repositories, measured against an independent link count.

The repositories are not part of this project (their text is not ours to copy): point ``OCW_COURSE_REPOS_DIR`` at a
folder holding checkouts of them (one folder per course, as ocw-studio publishes them). Each is copied to a scratch
folder first (the import rewrites files) and made a git checkout if it is not one. Then, per course:

* **found**: the external (http/https) links markdown-it-py (CommonMark, as Hugo's Goldmark renders) finds in the
  fields ocw-studio's ``LinkToExternalResourceRule`` converts: every content file's body, its front matter
  ``description``, ``optional_text``, ``related_resources_text``, ``image_metadata.caption`` and
  ``image_metadata.credit``, and ``course_description`` in ``data/course.json``; and the external items of the
  ``leftnav`` menu;
* **converted** by a committed import, and **left**: what markdown-it-py still finds afterwards;
* **second run**: what a second import converts and whether any file changed;
* **pages**: the external-resource pages written, and any lacking a field of the ``external-resource`` type of
  ``ocw-course-v2/ocw-studio.yaml``; **commits** the import made in each checkout per run.

``python -m tests.ocw_operators.external_resources.course_repos [REPOS_DIR]`` prints the figures;
``test_course_repos.py`` asserts them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from ocw_operators.db import make_engine, migrate
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions

REPOS_ENV = "OCW_COURSE_REPOS_DIR"
# ocw-studio's LinkToExternalResourceRule.fields, as paths into a content file's front matter (plus "markdown",
# the body, and "metadata.course_description" of the site metadata), written out here independently of the code
# under test.
FRONT_MATTER_FIELDS = (
    ("related_resources_text",),
    ("image_metadata", "caption"),
    ("image_metadata", "credit"),
    ("optional_text",),
    ("description",),
)
# The fields of the external-resource type in ocw-hugo-projects' ocw-course-v2/ocw-studio.yaml.
STUDIO_FIELDS = ("title", "external_url", "wayback_url", "license", "has_external_license_warning", "status")
_MARKDOWN = MarkdownIt("commonmark")


def external_links(text: str) -> int:
    """How many external http(s) links (not images) markdown-it-py renders in ``text``."""
    count = 0
    stack = list(_MARKDOWN.parse(text or ""))
    while stack:
        token = stack.pop()
        if token.type == "link_open" and str(token.attrGet("href") or "").lower().startswith(("http://", "https://")):
            count += 1
        stack.extend(token.children or [])
    return count


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.index("\n---\n", 3)
    return yaml.safe_load(text[4 : end + 1]) or {}, text[end + 5 :]


def _value(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def count_links(site: Path) -> tuple[int, int]:
    """(links in the rule's fields, external leftnav items) of one course site, as markdown-it-py sees them."""
    links = 0
    for path in sorted((site / "content").rglob("*.md")):
        data, body = _front_matter(path.read_text(encoding="utf-8").replace("\r\n", "\n"))
        links += external_links(body)
        links += sum(external_links(value) for p in FRONT_MATTER_FIELDS if isinstance(value := _value(data, p), str))
    metadata = json.loads((site / "data" / "course.json").read_text(encoding="utf-8"))
    links += external_links(metadata.get("course_description") or "")
    menus = site / "config" / "_default" / "menus.yaml"
    items = (yaml.safe_load(menus.read_text(encoding="utf-8")) or {}).get("leftnav", []) if menus.exists() else []
    nav = sum(1 for item in items if str(item.get("url", "")).lower().startswith(("http://", "https://")))
    return links, nav


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Checkout", "GIT_AUTHOR_EMAIL": "checkout@localhost",
           "GIT_COMMITTER_NAME": "Checkout", "GIT_COMMITTER_EMAIL": "checkout@localhost"}  # fmt: skip
    command = ["git", "-C", str(repo), "-c", "commit.gpgSign=false", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True).stdout


def copy_checkouts(repos_dir: Path, work_dir: Path) -> list[Path]:
    """Copy every course (a folder with ``data/course.json``) to ``work_dir``; each copy is a git checkout."""
    copies = []
    for source in sorted(path for path in repos_dir.iterdir() if (path / "data" / "course.json").is_file()):
        target = work_dir / source.name
        shutil.copytree(source, target, symlinks=True)
        if not (target / ".git").exists():
            _git(target, "init", "--quiet", "--initial-branch=main")
            _git(target, "add", "--all")
            _git(target, "commit", "--quiet", "--no-verify", "--message", "Course content")
        copies.append(target)
    return copies


def _digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def _commits(repo: Path) -> int:
    return int(_git(repo, "rev-list", "--count", "HEAD").strip())


@dataclass
class CourseFigures:
    site: str
    links_found: int = 0
    nav_found: int = 0
    links_converted: int = 0
    nav_converted: int = 0
    links_left: int = 0
    nav_left: int = 0
    second_run_converted: int = 0
    second_run_changed_files: int = 0
    resource_pages: int = 0
    pages_missing_fields: list[str] = field(default_factory=list)
    commits_first_run: int = 0
    commits_second_run: int = 0
    errors: str = ""


def measure(repos_dir: Path, work_dir: Path) -> list[CourseFigures]:
    """Copy the checkouts, import twice (committed) into a fresh SQLite archive DB, and measure each course."""
    sites = work_dir / "sites"
    sites.mkdir(parents=True)
    copies = copy_checkouts(repos_dir, sites)
    url = f"sqlite:///{work_dir / 'archive.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    figures = {copy.name: CourseFigures(copy.name) for copy in copies}
    commits = {copy.name: _commits(copy) for copy in copies}
    for copy in copies:
        figures[copy.name].links_found, figures[copy.name].nav_found = count_links(copy)
    rules = ("link_to_external_resource", "nav_item_to_external_resource")
    first = import_sites(engine, ImportOptions.build(sites_dir=sites, rules=rules, run_id="first", commit=True))
    after_first = {copy.name: _digests(copy) for copy in copies}
    second = import_sites(engine, ImportOptions.build(sites_dir=sites, rules=rules, run_id="second", commit=True))
    engine.dispose()
    for outcome, run in ((first.sites, "first"), (second.sites, "second")):
        for site in outcome:
            course = figures[site.name]
            if run == "first":
                course.links_converted, course.nav_converted = site.links_converted, site.nav_items_converted
            else:
                course.second_run_converted = site.links_converted + site.nav_items_converted
            if site.reason:
                course.errors += f"{run}: {site.reason} "
    for copy in copies:
        course = figures[copy.name]
        course.links_left, course.nav_left = count_links(copy)
        course.second_run_changed_files = sum(
            1 for path, digest in _digests(copy).items() if after_first[copy.name].get(path) != digest
        )
        for page in sorted((copy / "content" / "external-resources").glob("*.md")):
            course.resource_pages += 1
            data, _ = _front_matter(page.read_text(encoding="utf-8"))
            if not set(STUDIO_FIELDS) <= set(data) or data.get("content_type") != "external-resource":
                course.pages_missing_fields.append(page.name)
        total = _commits(copy)
        course.commits_first_run = total - commits[copy.name]  # the second run adds none, checked below
        course.commits_second_run = total - commits[copy.name] - course.commits_first_run
    return list(figures.values())


def rows(figures: list[CourseFigures]) -> Iterator[str]:
    header = ("course", "links found", "converted", "left", "menu items", "converted", "2nd run", "pages",
              "missing fields", "commits")  # fmt: skip
    yield " | ".join(header)
    for course in figures:
        yield " | ".join(str(value) for value in (
            course.site, course.links_found, course.links_converted, course.links_left, course.nav_found,
            course.nav_converted, course.second_run_converted, course.resource_pages,
            len(course.pages_missing_fields), course.commits_first_run,
        ))  # fmt: skip
        if course.errors:
            yield f"  errors: {course.errors}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos_dir", nargs="?", default=os.environ.get(REPOS_ENV), help=f"default: ${REPOS_ENV}")
    args = parser.parse_args(argv)
    if not args.repos_dir:
        parser.error(f"name the folder of course checkouts or set {REPOS_ENV}")
    with tempfile.TemporaryDirectory(prefix="course-repos-") as work:
        figures = measure(Path(args.repos_dir), Path(work))
    for line in rows(figures):
        print(line)
    totals = [sum(getattr(course, name) for course in figures) for name in ("links_found", "links_converted")]
    print(f"total: {totals[0]} links found by markdown-it-py, {totals[1]} converted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
