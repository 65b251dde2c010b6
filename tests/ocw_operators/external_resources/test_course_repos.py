"""The import over checkouts of real published course repositories (``OCW_COURSE_REPOS_DIR``; see course_repos.py).

Skipped unless the variable names a folder of checkouts: the repositories are public but not this project's, so no
copy of them is kept here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .course_repos import REPOS_ENV, CourseFigures, measure

REPOS = os.environ.get(REPOS_ENV, "")
pytestmark = pytest.mark.skipif(
    not REPOS or not Path(REPOS).is_dir(),
    reason=f"set {REPOS_ENV} to a folder of course repository checkouts (e.g. from github.com/mitocwcontent)",
)


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict[str, CourseFigures]:
    measured = measure(Path(REPOS), tmp_path_factory.mktemp("course-repos"))
    assert measured, f"no course (a folder with data/course.json) in {REPOS}"
    return {course.site: course for course in measured}


def test_every_external_link_markdown_it_finds_is_converted(figures):
    for course in figures.values():
        assert course.errors == "", course
        assert (course.links_converted, course.nav_converted) == (course.links_found, course.nav_found), course
        assert (course.links_left, course.nav_left) == (0, 0), course


def test_a_second_run_converts_nothing_and_changes_no_file(figures):
    for course in figures.values():
        assert (course.second_run_converted, course.second_run_changed_files, course.commits_second_run) == (0, 0, 0)


def test_the_pages_written_carry_the_fields_of_the_studio_type(figures):
    for course in figures.values():
        assert course.pages_missing_fields == [], course
        assert course.resource_pages <= course.links_found + course.nav_found


def test_each_course_that_changed_got_one_commit(figures):
    for course in figures.values():
        assert course.commits_first_run == (1 if course.links_found + course.nav_found else 0), course
