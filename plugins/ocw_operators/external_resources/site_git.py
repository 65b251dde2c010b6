"""Course sites that are git checkouts: one commit per site per run for the files a run changed, pushed only when a
remote is configured.

``git`` runs as a subprocess (argv, never a shell) in its own process group, so a hanging push is killed whole at
its timeout. Commits name only the files the run wrote (``git commit -- <paths>``), never other staged or
unstaged work in the checkout; hooks do not run and nothing is signed. No remote URL is ever logged or put in an
error (it may carry credentials): errors name the remote by its name.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The Variable OCW_SITES_GIT_AUTHOR's default (for the command line, which reads the same name from the environment).
DEFAULT_AUTHOR = "ocw-archive <ocw-archive@localhost>"
DEFAULT_TIMEOUT_SECONDS = 120.0
_AUTHOR = re.compile(r"^(?P<name>[^<>\n]*[^<>\s])\s*<(?P<email>[^<>\s@]+@[^<>\s]+)>$")
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_IN_PROGRESS = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply", "index.lock")


class GitError(Exception):
    """A git command failed or timed out; the message says which and why (without any remote URL)."""


@dataclass(frozen=True)
class GitSettings:
    author_name: str
    author_email: str
    push_remote: str = ""  # empty: never push
    timeout_s: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def parse(cls, author: str = "", push_remote: str = "", timeout_s: float = DEFAULT_TIMEOUT_SECONDS) -> GitSettings:
        """``author`` as ``Name <email>`` (empty: the default); raises ValueError naming what is wrong."""
        match = _AUTHOR.match((author or DEFAULT_AUTHOR).strip())
        if not match:
            raise ValueError(f"git author {author!r} is not of the form 'Name <email@host>'")
        remote = (push_remote or "").strip()
        if remote and not _REMOTE_NAME.match(remote):
            raise ValueError(f"git push remote {remote!r} is not a remote name (e.g. origin)")
        if timeout_s <= 0:
            raise ValueError("git timeout must be positive")
        return cls(match["name"], match["email"], remote, float(timeout_s))

    @property
    def author(self) -> str:
        return f"{self.author_name} <{self.author_email}>"


def is_repository(site_path: Path) -> bool:
    """True when the site folder is the top of a git checkout (``.git`` directory, or file for a worktree)."""
    marker = site_path / ".git"
    return marker.exists() and not marker.is_symlink()


class SiteRepository:
    def __init__(self, path: Path, settings: GitSettings) -> None:
        self.path = path
        self.settings = settings

    def git(self, *args: str, timeout: float | None = None) -> str:
        command = ["git", "-C", str(self.path), "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false", *args]
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            "GIT_AUTHOR_NAME": self.settings.author_name,
            "GIT_AUTHOR_EMAIL": self.settings.author_email,
            "GIT_COMMITTER_NAME": self.settings.author_name,
            "GIT_COMMITTER_EMAIL": self.settings.author_email,
            "LC_ALL": "C",
        }
        limit = timeout or self.settings.timeout_s
        try:
            process = subprocess.Popen(  # argv, never a shell
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
            )
        except OSError as error:
            raise GitError(f"cannot run git: {error.strerror or error}") from None
        try:
            out, err = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            # Kill the whole group: a transport helper (ssh, a credential helper) would otherwise keep the pipes open.
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise GitError(f"git {args[0]} timed out after {limit:g} s") from None
        if process.returncode != 0:
            detail = _redact(err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""])
            raise GitError(f"git {args[0]} failed (exit {process.returncode}): {detail}")
        return out.decode("utf-8", "replace")

    def problem(self) -> str | None:
        """Why the checkout cannot take a commit now (detached HEAD, a merge or rebase under way), else None."""
        try:
            self.git("symbolic-ref", "-q", "HEAD")
        except GitError:
            return "the checkout is not on a branch (detached HEAD)"
        git_dir = Path(self.git("rev-parse", "--absolute-git-dir").strip())
        busy = [name for name in _IN_PROGRESS if (git_dir / name).exists()]
        if busy:
            return f"the checkout is busy ({', '.join(busy)} present: a merge, rebase or another git command)"
        return None

    def uncommitted(self, paths: Sequence[str]) -> set[str]:
        """Those of ``paths`` (existing files) that differ from the last commit: staged, modified or untracked."""
        existing = [path for path in paths if (self.path / path).exists()]
        if not existing:
            return set()
        output = self.git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *existing)
        return {entry[3:] for entry in output.split("\0") if len(entry) > 3}

    def commit(self, paths: Sequence[str], message: str) -> str:
        """Commit exactly ``paths`` (new or changed files) with ``message``; returns the commit id ("" if no change)."""
        if not paths:
            return ""
        self.git("add", "--", *paths)
        try:
            self.git("diff", "--cached", "--quiet", "--", *paths)
        except GitError:
            pass  # differences: commit them
        else:
            return ""
        self.git("commit", "--quiet", "--no-verify", "--message", message, "--", *paths)
        return self.git("rev-parse", "HEAD").strip()

    def needs_push(self, committed: bool) -> bool:
        """Push after a commit, and while the branch is ahead of (or has never been pushed to) the remote."""
        if committed:
            return True
        branch = self.git("symbolic-ref", "--short", "HEAD").strip()
        tracking = f"refs/remotes/{self.settings.push_remote}/{branch}"
        try:
            self.git("rev-parse", "--verify", "--quiet", tracking)
        except GitError:
            return True
        return int(self.git("rev-list", "--count", f"{tracking}..HEAD").strip() or 0) > 0

    def push(self) -> None:
        """``git push <remote> HEAD`` within the timeout (the current branch to the same name on the remote)."""
        self.git("push", "--porcelain", "--", self.settings.push_remote, "HEAD")


def _redact(lines: list[str]) -> str:
    return _URL_USERINFO.sub(r"\g<scheme>***@", " ".join(lines))
