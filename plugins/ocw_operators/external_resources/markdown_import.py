"""The markdown_cleanup conversion over course sites on disk: plan per site, then (on commit) DB first, files second.

Per site: :mod:`.sites` reads it, :mod:`.planning` runs the rules (nothing written), :mod:`.persistence` saves
resources and references, :mod:`.rewriting` rewrites its files, :mod:`.site_git` commits them when the site is a git
checkout; :mod:`.report` collects what happened.

Order matters for crash safety: resources and references are upserted in one transaction per site before any
file is rewritten, so a rewritten page never points at a resource the archive DB lacks. A crash between the
two leaves pages unconverted; the rerun finds the same URLs, reuses the same resources (looked up by site and
URL) and finishes the rewrite. A rerun after a complete commit finds nothing left to convert.
"""

from __future__ import annotations

from sqlalchemy import Engine

from ocw_operators.external_resources import persistence, rewriting
from ocw_operators.external_resources.catalog import ResourceCatalog
from ocw_operators.external_resources.fsutil import UnsafeFileError
from ocw_operators.external_resources.options import ImportOptions
from ocw_operators.external_resources.planning import SitePlan, plan_site
from ocw_operators.external_resources.report import ImportReport, ReportRow, SiteOutcome, SiteStatus, write_csv
from ocw_operators.external_resources.site_git import GitError, SiteRepository, is_repository
from ocw_operators.external_resources.sites import (
    PUBLISHED_LIST,
    SITE_METADATA_PATH,
    SiteFileError,
    SiteFolder,
    discover_sites,
    read_published_list,
    read_site_metadata,
)
from ocw_operators.text import plural


def import_sites(engine: Engine, options: ImportOptions) -> ImportReport:
    """Run the selected rules over every site; commit and/or write the CSV as the options say."""
    report = ImportReport(run_id=options.run_id, commit=options.commit)
    sites, skipped = discover_sites(options.sites_dir, options.site_names)
    published = read_published_list(options.sites_dir)
    if options.published_only and published is None:
        raise FileNotFoundError(
            f"published_only needs {options.sites_dir / PUBLISHED_LIST}: the published sites, one folder name or "
            "short id per line"
        )
    for skip in skipped:
        _record_skip(report, skip.name, skip.reason)
    catalog = ResourceCatalog(engine, options)
    for site in sites:
        _import_one_site(engine, site, options, catalog, report, published=published)
    if options.out_csv is not None:
        write_csv(options.out_csv, report.rows)
        report.csv_path = str(options.out_csv)
    return report


def _import_one_site(
    engine: Engine,
    site: SiteFolder,
    options: ImportOptions,
    catalog: ResourceCatalog,
    report: ImportReport,
    *,
    published: frozenset[str] | None,
) -> None:
    try:
        meta = read_site_metadata(site, published)
    except SiteFileError as error:
        _record_error(report, site.name, str(error))
        return
    if meta is None:
        _record_skip(report, site.name, f"no {SITE_METADATA_PATH}: not a course site")
        return
    if options.published_only and not meta.published:
        _record_skip(report, site.name, f"not published (not in {PUBLISHED_LIST})")
        return
    plan, errors = plan_site(site, meta, options, catalog, report)
    outcome = SiteOutcome(
        name=site.name,
        status=SiteStatus.PROCESSED,
        links_converted=plan.links_converted,
        nav_items_converted=plan.nav_items_converted,
    )
    if options.commit and plan.has_changes:
        errors += _apply(engine, plan, options, outcome)
    if errors:
        outcome.status = SiteStatus.ERROR
        outcome.reason = "; ".join(errors)
        for error in errors:
            report.rows.append(ReportRow(site_name=site.name, site_short_id=meta.short_id, note=f"error: {error}"))
    report.sites.append(outcome)


def _apply(engine: Engine, plan: SitePlan, options: ImportOptions, outcome: SiteOutcome) -> list[str]:
    """Save the plan, write its files and commit them; returns the site's errors."""
    repository = None
    if options.git is not None and is_repository(plan.site.path):
        repository = SiteRepository(plan.site.path, options.git)
        try:
            problem = repository.problem()
            dirty = repository.uncommitted(plan.changed_paths)
        except GitError as error:
            return [str(error)]
        if problem or dirty:
            # Committing would take someone's uncommitted work along: save nothing, say why, let a rerun finish.
            why = problem or f"{', '.join(sorted(dirty))}: changes not committed to git; commit or discard them"
            return [f"{why}; nothing saved for this site"]
    try:
        persistence.persist_site(engine, plan, options.run_id)
    except persistence.ResourceConflict as error:
        return [str(error)]
    errors: list[str] = []
    try:
        written = rewriting.write_site_files(plan)
    except rewriting.ChangedMeanwhile as changed:
        written = changed.written
        errors.append(str(changed))
    except (SiteFileError, UnsafeFileError, OSError) as error:
        return [str(error)]
    outcome.files_rewritten = len(written)
    if repository is not None and written:
        try:
            outcome.commit = repository.commit(written, _commit_message(plan, options.run_id))
            if repository.settings.push_remote and repository.needs_push(bool(outcome.commit)):
                repository.push()
        except GitError as error:
            errors.append(str(error))
    return errors


def _commit_message(plan: SitePlan, run_id: str) -> str:
    converted = [
        plural(plan.links_converted, "link") if plan.links_converted else "",
        plural(plan.nav_items_converted, "menu item") if plan.nav_items_converted else "",
    ]
    what = " and ".join(part for part in converted if part) or "existing pages"
    new = sum(1 for entry in plan.entries.values() if not entry.has_page)
    body = f"Import run {run_id}: {plural(new, 'new external-resource page')}."
    return f"External resources: convert {what} (markdown_cleanup rules)\n\n{body}\n"


def _record_skip(report: ImportReport, name: str, reason: str) -> None:
    report.sites.append(SiteOutcome(name=name, status=SiteStatus.SKIPPED, reason=reason))
    report.rows.append(ReportRow(site_name=name, note=f"site skipped: {reason}"))


def _record_error(report: ImportReport, name: str, error: str) -> None:
    report.sites.append(SiteOutcome(name=name, status=SiteStatus.ERROR, reason=error))
    report.rows.append(ReportRow(site_name=name, note=f"error: {error}"))
