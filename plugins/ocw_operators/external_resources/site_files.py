"""Link status and Wayback URLs go back into the sites: each external-resource page whose ``status`` or
``wayback_url`` differs from the archive DB gets those two values rewritten, as ocw-studio's tasks update them.

Runs after the link check, after Wayback captures and after the status update. Per site (a course folder of the
sites directory whose resources are in the archive DB): every ``content/external-resources/*.md`` page is matched to
its resource by (site, ``uid``); ``status`` takes the archive DB's value, ``wayback_url`` the archive DB's capture
URL when it has one (an empty one never erases the page's). Only those values change, in place
(:func:`~ocw_operators.external_resources.front_matter.set_yaml_value`); every other byte stays. A page that
changed on disk after it was read is skipped and reported, never overwritten; each write is atomic (temp file and
rename). A site that is a git checkout gets one commit for the pages written (see :mod:`.site_git`); pages with
changes not yet committed by someone else are left alone. A dry run computes and reports the same changes and
writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources import front_matter
from ocw_operators.external_resources.fsutil import UnsafeFileError, atomic_write_text, read_text_inside
from ocw_operators.external_resources.resource_pages import CONTENT_TYPE
from ocw_operators.external_resources.site_git import GitError, GitSettings, SiteRepository, is_repository
from ocw_operators.external_resources.sites import (
    RESOURCE_PAGES_DIR,
    ContentPage,
    SiteFileError,
    SiteFolder,
    discover_sites,
    read_page,
    read_site_metadata,
)
from ocw_operators.text import plural

MAX_LISTED = 50


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str

    def describe(self) -> str:
        return f"{self.field} {self.old or '(empty)'} -> {self.new}"


@dataclass
class PageChange:
    relative_path: str
    uid: str
    changes: list[FieldChange]
    original: str = field(repr=False, default="")
    new: str = field(repr=False, default="")
    newline: str = field(repr=False, default="\n")

    def describe(self) -> str:
        return f"{self.relative_path}: {'; '.join(change.describe() for change in self.changes)}"


@dataclass
class SiteWriteBack:
    site: str
    changes: list[PageChange] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): left for the next run
    errors: list[str] = field(default_factory=list)
    commit: str = ""
    pushed: bool = False


@dataclass
class WriteBackReport:
    dry_run: bool
    sites: list[SiteWriteBack] = field(default_factory=list)

    @property
    def errors(self) -> list[SiteWriteBack]:
        return [site for site in self.sites if site.errors]

    def summary(self) -> dict[str, Any]:
        """JSON-serializable counts and the first changes (the operator's XCom)."""
        changes = [change.describe() for site in self.sites for change in site.changes]
        return {
            "dry_run": self.dry_run,
            "sites_with_changes": sum(1 for site in self.sites if site.changes),
            "pages_to_change": len(changes),
            "pages_written": sum(len(site.written) for site in self.sites),
            "pages_skipped": [f"{site.site}/{path}: {reason}" for site in self.sites for path, reason in site.skipped],
            "commits": {site.site: site.commit for site in self.sites if site.commit},
            "pushed": [site.site for site in self.sites if site.pushed],
            "site_errors": {site.site: "; ".join(site.errors) for site in self.errors},
            "changes": changes[:MAX_LISTED],
        }


def write_back(
    engine: Engine,
    sites_dir: Path,
    *,
    site_filter: Sequence[str] = (),
    exclude: Sequence[str] = (),
    dry_run: bool = False,
    git: GitSettings | None = None,
    context: str = "",
) -> WriteBackReport:
    """Bring every selected site's external-resource pages in line with the archive DB (or, dry, say what would change).

    ``site_filter``/``exclude`` match a site's folder name or short id. ``git`` (author, remote) is needed to commit
    in sites that are git checkouts; without it they are written but not committed. ``context`` (e.g. the DAG run)
    goes into the commit message.
    """
    report = WriteBackReport(dry_run=dry_run)
    sites, _ = discover_sites(sites_dir)
    for site in sites:
        try:
            meta = read_site_metadata(site)
        except SiteFileError as error:
            if _selected(site.name, site.name, site_filter, exclude):
                report.sites.append(SiteWriteBack(site.name, errors=[str(error)]))
            continue
        if meta is None or not _selected(meta.name, meta.short_id, site_filter, exclude):
            continue
        result = _site_write_back(engine, site, dry_run=dry_run, git=git, context=context)
        if result.changes or result.errors or result.skipped or result.pushed:
            report.sites.append(result)
    return report


def _selected(name: str, short_id: str, site_filter: Sequence[str], exclude: Sequence[str]) -> bool:
    if site_filter and name not in site_filter and short_id not in site_filter:
        return False
    return not (name in exclude or short_id in exclude)


def _stored_states(engine: Engine, site_name: str) -> dict[str, tuple[str, str]]:
    """uid -> (status, wayback_url) of the site's resources in the archive DB."""
    table = ExternalResource.__table__
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.c.content_uuid, table.c.status, table.c.wayback_url).where(table.c.site_name == site_name)
        )
        return {row.content_uuid: (row.status, row.wayback_url) for row in rows}


def _resource_pages(site: SiteFolder, result: SiteWriteBack) -> list[ContentPage]:
    directory = site.path / RESOURCE_PAGES_DIR
    if not directory.is_dir() or directory.is_symlink():
        return []
    pages = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".md") or name.startswith("."):
            continue
        relative = f"{RESOURCE_PAGES_DIR}/{name}"
        try:
            page = read_page(site, directory / name, relative)
        except SiteFileError as error:
            result.skipped.append((relative, error.reason))
            continue
        if page.content_type == CONTENT_TYPE and page.uid:
            pages.append(page)
    return pages


def plan_page_change(page: ContentPage, status: str, wayback_url: str) -> PageChange | None:
    """The page with the archive DB's ``status`` and ``wayback_url``, or None when it already says so."""
    wanted = {"status": status}
    if wayback_url:
        wanted["wayback_url"] = wayback_url
    current = {key: page.data.get(key) for key in wanted}
    changes = [
        FieldChange(key, "" if current[key] is None else str(current[key]), value)
        for key, value in wanted.items()
        if current[key] != value
    ]
    if not changes:
        return None
    if not page.is_yaml:
        raise front_matter.FrontMatterError("only YAML front matter can be rewritten")
    data = front_matter.yaml_block_data(page.front_matter)
    for change in changes:
        data = front_matter.set_yaml_value(data, (change.field,), change.new)
    new_text = front_matter.with_yaml_data(page.front_matter, data) + page.body
    return PageChange(page.relative_path, page.uid, changes, page.text, new_text, page.newline)


def _site_write_back(
    engine: Engine, site: SiteFolder, *, dry_run: bool, git: GitSettings | None, context: str
) -> SiteWriteBack:
    result = SiteWriteBack(site.name)
    stored = _stored_states(engine, site.name)
    if not stored:
        return result
    for page in _resource_pages(site, result):
        if page.uid not in stored:
            continue
        try:
            change = plan_page_change(page, *stored[page.uid])
        except front_matter.FrontMatterError as error:
            result.skipped.append((page.relative_path, str(error)))
            continue
        if change is not None:
            result.changes.append(change)
    if dry_run:
        return result
    repository = SiteRepository(site.path, git) if git is not None and is_repository(site.path) else None
    if not result.changes and (repository is None or not repository.settings.push_remote):
        return result
    try:
        to_write = _committable(repository, result)
    except GitError as error:
        result.errors.append(str(error))
        return result
    _write_pages(site, to_write, result)
    if repository is not None:
        _commit_and_push(repository, result, context)
    return result


def _write_pages(site: SiteFolder, changes: list[PageChange], result: SiteWriteBack) -> None:
    for change in changes:
        try:
            current = read_text_inside(site.path / change.relative_path, site.path).text
        except (UnsafeFileError, OSError) as error:
            result.skipped.append((change.relative_path, f"cannot be read again: {error}"))
            continue
        if current != change.original:
            result.skipped.append((change.relative_path, "changed on disk since it was read; left for the next run"))
            continue
        atomic_write_text(site.path / change.relative_path, change.new, newline=change.newline)
        result.written.append(change.relative_path)


def _committable(repository: SiteRepository | None, result: SiteWriteBack) -> list[PageChange]:
    """The changes that may be written: all of them outside git; in a checkout, those without others' edits."""
    if repository is None or not result.changes:
        return result.changes
    problem = repository.problem()
    if problem:
        raise GitError(f"{problem}; nothing written, the next run tries again")
    dirty = repository.uncommitted([change.relative_path for change in result.changes])
    for path in sorted(dirty):
        result.skipped.append((path, "has changes not committed to git; commit or discard them, then rerun"))
    return [change for change in result.changes if change.relative_path not in dirty]


def _commit_and_push(repository: SiteRepository, result: SiteWriteBack, context: str) -> None:
    written = set(result.written)
    changes = [change for change in result.changes if change.relative_path in written]
    try:
        if changes:
            result.commit = repository.commit(sorted(written), commit_message(changes, context))
        if repository.settings.push_remote and repository.needs_push(bool(result.commit)):
            repository.push()
            result.pushed = True
    except GitError as error:
        result.errors.append(str(error))


def commit_message(changes: Sequence[PageChange], context: str) -> str:
    subject = f"External resources: link status and Wayback URLs of {plural(len(changes), 'page')} from the archive"
    source = f"Written by {context} from the archive DB." if context else "Written from the archive DB."
    lines = [subject, "", source, ""]
    lines += [f"- {change.describe()}" for change in changes[:MAX_LISTED]]
    if len(changes) > MAX_LISTED:
        lines.append(f"- and {len(changes) - MAX_LISTED} more")
    return "\n".join(lines) + "\n"
