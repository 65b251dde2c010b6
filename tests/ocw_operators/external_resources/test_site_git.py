"""Sites that are git checkouts: the import commits what it wrote, once per site, and pushes only when told to."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions, ImportOptionsError
from ocw_operators.external_resources.site_git import GitError, GitSettings, SiteRepository

from .conftest import snapshot_files
from .git_sites import bare_remote, commits_in, git, log, make_checkout, status

LINEAR, SICP_COURSE = "18.06-spring-2010", "6.001-fall-2005"
BOT = "Archive Bot <archive-bot@example.edu>"
BOTH_RULES = ("link_to_external_resource", "nav_item_to_external_resource")


@pytest.fixture
def checkouts(sites_dir):
    for site in (LINEAR, SICP_COURSE):
        make_checkout(sites_dir / site)
    return sites_dir


def run(engine, sites_dir, run_id="run-1", **options):
    options = {"commit": True, "git_author": BOT, **options}
    return import_sites(engine, ImportOptions.build(sites_dir=sites_dir, rules=BOTH_RULES, run_id=run_id, **options))


def _stored(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM external_resource")).scalar_one()


def test_each_changed_site_gets_one_commit_by_the_configured_author_and_a_rerun_none(archive_engine, checkouts):
    report = run(archive_engine, checkouts)
    for site in (LINEAR, SICP_COURSE):
        history = log(checkouts / site)
        assert [author for author, _ in history] == [BOT, "Course Team <team@example.edu>"]
        assert history[0][1].startswith("External resources: convert ")
        assert status(checkouts / site) == ""  # every file the import wrote is in the commit
    assert report.summary()["commits"][LINEAR] == git(checkouts / LINEAR, "rev-parse", "HEAD").strip()
    assert "23 links and 3 menu items" in log(checkouts / LINEAR)[0][1]

    run(archive_engine, checkouts, run_id="run-2")
    assert len(log(checkouts / LINEAR)) == 2 and len(log(checkouts / SICP_COURSE)) == 2


def test_the_commit_takes_only_the_files_the_import_wrote(archive_engine, checkouts):
    notes = checkouts / LINEAR / "content" / "pages" / "draft-notes.md"
    notes.write_text("---\ncontent_type: page\ntitle: Draft\nuid: d\n---\nNothing to convert yet.\n")
    run(archive_engine, checkouts)
    assert status(checkouts / LINEAR) == "?? content/pages/draft-notes.md\n"  # someone's new file stays theirs


def test_uncommitted_changes_in_a_file_to_rewrite_stop_the_site_before_anything_is_saved(archive_engine, checkouts):
    syllabus = checkouts / SICP_COURSE / "content" / "pages" / "syllabus.md"
    syllabus.write_text(syllabus.read_text() + "\nAn edit not committed yet.\n")
    before = snapshot_files(checkouts / SICP_COURSE)
    report = run(archive_engine, checkouts)
    (error,) = report.errors
    assert error.name == SICP_COURSE
    assert "content/pages/syllabus.md: changes not committed to git" in error.reason
    assert "nothing saved for this site" in error.reason
    assert snapshot_files(checkouts / SICP_COURSE) == before
    assert len(log(checkouts / SICP_COURSE)) == 1 and len(log(checkouts / LINEAR)) == 2
    with archive_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT count(*) FROM external_resource WHERE site_name = :s"), {"s": SICP_COURSE}
        )
        assert rows.scalar_one() == 0


def test_a_checkout_not_on_a_branch_is_left_alone(archive_engine, checkouts):
    git(checkouts / LINEAR, "checkout", "--quiet", "--detach")
    before = snapshot_files(checkouts / LINEAR)
    report = run(archive_engine, checkouts)
    assert "not on a branch (detached HEAD)" in report.errors[0].reason
    assert snapshot_files(checkouts / LINEAR) == before


def test_commits_are_pushed_only_to_a_configured_remote(archive_engine, checkouts, tmp_path):
    bare = bare_remote(tmp_path, checkouts / LINEAR)
    git(checkouts / LINEAR, "push", "--quiet", "origin", "main")
    run(archive_engine, checkouts, run_id="no-push")
    assert commits_in(bare) == 1  # a remote exists, but none was configured for pushing

    git(checkouts / LINEAR, "reset", "--quiet", "--hard", "HEAD~1")
    with archive_engine.begin() as connection:
        connection.execute(text("DELETE FROM external_resource_reference"))
        connection.execute(text("DELETE FROM external_resource"))
    run(archive_engine, checkouts, run_id="push", git_push_remote="origin")
    assert commits_in(bare) == 2
    assert git(bare, "log", "-1", "--format=%an <%ae>", "main").strip() == BOT


def test_a_push_that_hangs_is_killed_at_its_timeout(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.md").write_text("text\n")
    make_checkout(site)
    # git's ext:: transport runs a command as the remote: one that never answers, as a stalled server would not.
    git(site, "config", "protocol.ext.allow", "always")
    git(site, "remote", "add", "stalled", "ext::sleep 60")
    repository = SiteRepository(site, GitSettings.parse(BOT, "stalled", timeout_s=1))
    with pytest.raises(GitError, match="git push timed out after 1 s"):
        repository.push()


def test_git_errors_never_show_credentials_of_a_remote(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.md").write_text("text\n")
    make_checkout(site)
    git(site, "remote", "add", "origin", "https://deploy:s3cret-token@127.0.0.1:9/course.git")
    repository = SiteRepository(site, GitSettings.parse(BOT, "origin", timeout_s=30))
    with pytest.raises(GitError) as failure:
        repository.push()
    assert "s3cret-token" not in str(failure.value)


@pytest.mark.parametrize(
    ("author", "remote", "message"),
    [
        ("archive-bot", "", "is not of the form 'Name <email@host>'"),
        ("Bot <not-an-email>", "", "is not of the form"),
        (BOT, "--upload-pack=touch /tmp/x", "is not a remote name"),
    ],
)
def test_bad_git_settings_are_refused_before_anything_runs(tmp_path, author, remote, message):
    with pytest.raises(ImportOptionsError, match=message):
        ImportOptions.build(
            sites_dir=tmp_path, rules=BOTH_RULES, run_id="r", commit=True, git_author=author, git_push_remote=remote
        )


def test_the_default_author_is_used_when_none_is_configured():
    assert GitSettings.parse("").author == "ocw-archive <ocw-archive@localhost>"
