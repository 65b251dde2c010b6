"""Applying a site's plan to its files: rewritten pages and menus, new resource pages; every write atomic."""

from __future__ import annotations

from pathlib import Path

from ocw_operators.external_resources.fsutil import atomic_write_text, read_text_inside
from ocw_operators.external_resources.planning import SitePlan
from ocw_operators.external_resources.sites import (
    MENUS_PATH,
    SiteFileError,
    SiteFolder,
    dump_menus,
    resource_page_path,
    resource_page_text,
)


def write_site_files(plan: SitePlan) -> int:
    """Rewrite changed pages and menus, add missing resource pages; every write is atomic. Returns files written."""
    written = 0
    for page, body in plan.page_rewrites:
        _ensure_unchanged(plan.site, page.path, page.relative_path, page.front_matter + page.body)
        atomic_write_text(page.path, page.text_with_body(body), newline=page.newline)
        written += 1
    if plan.menus_rewrite is not None:
        menus_path = plan.site.path / MENUS_PATH
        current = read_text_inside(menus_path, plan.site.path)
        atomic_write_text(menus_path, dump_menus(plan.menus_rewrite), newline=current.newline)
        written += 1
    for entry in sorted(plan.entries.values(), key=lambda item: item.uuid):
        if entry.uuid in plan.resource_page_uids:
            continue
        path = resource_page_path(plan.site, entry.filename)
        if path.exists() or path.is_symlink():
            continue
        text = resource_page_text(
            title=entry.title, uid=entry.uuid, url=entry.url, has_external_license_warning=entry.has_warning
        )
        atomic_write_text(path, text)
        written += 1
    return written


def _ensure_unchanged(site: SiteFolder, path: Path, relative: str, expected: str) -> None:
    # Someone may have edited the page since it was planned; never overwrite their change.
    if read_text_inside(path, site.path).text != expected:
        raise SiteFileError(relative, "changed on disk during the import; rerun to convert it")
