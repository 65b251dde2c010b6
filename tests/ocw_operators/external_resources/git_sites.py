"""Course sites as git checkouts for tests: a baseline commit, and what ``git log`` and ``git status`` say."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

COURSE_TEAM = ("Course Team", "team@example.edu")


def git(repo: Path, *args: str) -> str:
    name, email = COURSE_TEAM
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
           "GIT_COMMITTER_EMAIL": email, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
    command = ["git", "-C", str(repo), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def make_checkout(site: Path) -> None:
    """``git init`` the site with everything in one baseline commit by the course team."""
    git(site, "init", "--quiet", "--initial-branch=main")
    git(site, "add", "--all")
    git(site, "-c", "commit.gpgSign=false", "commit", "--quiet", "--message", "Course content")


def log(site: Path) -> list[tuple[str, str]]:
    """``(author, subject)`` of every commit, newest first."""
    lines = git(site, "log", "--format=%an <%ae>%x09%s").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines]  # type: ignore[misc]


def status(site: Path) -> str:
    return git(site, "status", "--porcelain", "--untracked-files=all")


def bare_remote(tmp_path: Path, site: Path, name: str = "origin") -> Path:
    """A local bare repository added to the checkout as remote ``name`` (pushes go there, never to a real host)."""
    bare = tmp_path / f"{site.name}.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True, capture_output=True, timeout=60)
    git(site, "remote", "add", name, str(bare))
    return bare


def commits_in(bare: Path, branch: str = "main") -> int:
    result = subprocess.run(
        ["git", "-C", str(bare), "rev-list", "--count", branch], capture_output=True, text=True, timeout=60, check=False
    )
    return int(result.stdout.strip()) if result.returncode == 0 else 0
