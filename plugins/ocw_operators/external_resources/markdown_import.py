"""The markdown_cleanup conversion over course sites on disk: plan per site, then (on commit) DB first, files second.

Per site: :mod:`.sites` reads it, :mod:`.planning` runs the rules (nothing written), :mod:`.persistence` saves
resources and references, :mod:`.rewriting` rewrites its files; :mod:`.report` collects what happened.

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
from ocw_operators.external_resources.planning import plan_site
from ocw_operators.external_resources.report import ImportReport, ReportRow, SiteOutcome, SiteStatus, write_csv
from ocw_operators.external_resources.sites import SiteFileError, SiteFolder, discover_sites, read_site_metadata


def import_sites(engine: Engine, options: ImportOptions) -> ImportReport:
    """Run the selected rules over every site; commit and/or write the CSV as the options say."""
    report = ImportReport(run_id=options.run_id, commit=options.commit)
    sites, skipped = discover_sites(options.sites_dir, options.site_names)
    for skip in skipped:
        _record_skip(report, skip.name, skip.reason)
    catalog = ResourceCatalog(engine, options)
    for site in sites:
        _import_one_site(engine, site, options, catalog, report)
    if options.out_csv is not None:
        write_csv(options.out_csv, report.rows)
        report.csv_path = str(options.out_csv)
    return report


def _import_one_site(
    engine: Engine, site: SiteFolder, options: ImportOptions, catalog: ResourceCatalog, report: ImportReport
) -> None:
    try:
        meta = read_site_metadata(site)
    except SiteFileError as error:
        _record_error(report, site.name, str(error))
        return
    if meta is None:
        _record_skip(report, site.name, "no data/website.json: not a site this importer knows")
        return
    if not meta.is_course:
        _record_skip(report, site.name, f"not a course site (starter {meta.starter or 'unset'!r})")
        return
    if options.published_only and not meta.published:
        _record_skip(report, site.name, "not published (published_only)")
        return
    plan, errors = plan_site(site, meta, options, catalog, report)
    outcome = SiteOutcome(
        name=site.name,
        status=SiteStatus.PROCESSED,
        links_converted=plan.links_converted,
        nav_items_converted=plan.nav_items_converted,
    )
    if options.commit and plan.has_changes:
        try:
            persistence.persist_site(engine, plan, options.run_id)
        except persistence.ResourceConflict as error:
            errors.append(str(error))
        else:
            try:
                outcome.files_rewritten = rewriting.write_site_files(plan)
            except (SiteFileError, UnsafeFileError, OSError) as error:
                errors.append(str(error))
    if errors:
        outcome.status = SiteStatus.ERROR
        outcome.reason = "; ".join(errors)
        for error in errors:
            report.rows.append(ReportRow(site_name=site.name, site_short_id=meta.short_id, note=f"error: {error}"))
    report.sites.append(outcome)


def _record_skip(report: ImportReport, name: str, reason: str) -> None:
    report.sites.append(SiteOutcome(name=name, status=SiteStatus.SKIPPED, reason=reason))
    report.rows.append(ReportRow(site_name=name, note=f"site skipped: {reason}"))


def _record_error(report: ImportReport, name: str, error: str) -> None:
    report.sites.append(SiteOutcome(name=name, status=SiteStatus.ERROR, reason=error))
    report.rows.append(ReportRow(site_name=name, note=f"error: {error}"))
