"""Applying a site's plan to its files: rewritten pages, metadata and menus, new resource pages; every write atomic."""

from __future__ import annotations

from ocw_operators.external_resources.fsutil import atomic_write_text, read_text_inside
from ocw_operators.external_resources.planning import SitePlan
from ocw_operators.external_resources.resource_pages import render_resource_page, resource_page_path
from ocw_operators.external_resources.sites import SiteFileError


def write_site_files(plan: SitePlan) -> list[str]:
    """Rewrite changed files and add missing resource pages; returns the site-relative paths written.

    A file that no longer holds what was planned from (someone edited it meanwhile) is never overwritten: the
    site gets an error naming it, after the other files were written, and the next run converts it.
    """
    written: list[str] = []
    changed_meanwhile: list[str] = []
    for rewrite in plan.rewrites:
        # Someone may have edited the file since it was planned; never overwrite their change.
        if read_text_inside(rewrite.path, plan.site.path).text != rewrite.original:
            changed_meanwhile.append(rewrite.relative_path)
            continue
        atomic_write_text(rewrite.path, rewrite.new, newline=rewrite.newline)
        written.append(rewrite.relative_path)
    for entry in sorted(plan.entries.values(), key=lambda item: item.uuid):
        if entry.has_page:
            continue
        path = resource_page_path(plan.site, entry.filename)
        if path.exists() or path.is_symlink():
            continue
        text = render_resource_page(
            uid=entry.uuid,
            title=entry.title,
            url=entry.url,
            has_external_license_warning=entry.has_warning,
            status=entry.status,
            wayback_url=entry.wayback_url,
        )
        atomic_write_text(path, text)
        written.append(path.relative_to(plan.site.path).as_posix())
    if changed_meanwhile:
        raise ChangedMeanwhile(written, changed_meanwhile)
    return written


class ChangedMeanwhile(SiteFileError):
    """Some files changed on disk during the import and were left as they are; the others were written."""

    def __init__(self, written: list[str], paths: list[str]) -> None:
        super().__init__(", ".join(paths), "changed on disk during the import; rerun to convert it")
        self.written = written
        self.paths = paths
