"""The markdown_cleanup conversion over course sites on disk: plan per site, then (on commit) DB first, files second.

Order matters for crash safety: resources and references are upserted in one transaction per site before any
file is rewritten, so a rewritten page never points at a resource the archive DB lacks. A crash between the
two leaves pages unconverted; the rerun finds the same URLs, reuses the same resources (deterministic UUIDs
and URL lookup) and finishes the rewrite. A rerun after a complete commit finds nothing left to convert.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, ExternalResourceReference, ReferenceSourceKind
from ocw_operators.db.models.resource_import import SOURCE_PATH_MAX_LEN
from ocw_operators.db.upsert import upsert
from ocw_operators.resource_import.fsutil import UnsafeFileError, atomic_write_text, read_text_inside
from ocw_operators.resource_import.markdown_links import LinkKind, MarkdownLink, ScanResult, scan_markdown
from ocw_operators.resource_import.report import (
    ImportReport,
    ReportRow,
    ResourceAction,
    SiteOutcome,
    SiteStatus,
    write_csv,
)
from ocw_operators.resource_import.resource_fields import (
    DEFAULT_SITEMAP_DOMAIN,
    InvalidExternalUrl,
    LicenseWarningPolicy,
    UnsafeShortcodeTitle,
    has_external_license_warning,
    is_external_destination,
    resource_filename,
    resource_link_shortcode,
    resource_title,
    resource_uuid_for,
    shortcode_title,
    validate_external_url,
)
from ocw_operators.resource_import.sites import (
    MENUS_PATH,
    RESOURCE_PAGES_DIR,
    ContentPage,
    SiteFileError,
    SiteFolder,
    SiteMetadata,
    discover_sites,
    dump_menus,
    iter_content_pages,
    read_menus,
    read_site_metadata,
    resource_page_path,
    resource_page_text,
)

LOOKUP_CHUNK = 500


class Rule(StrEnum):
    LINK_TO_EXTERNAL_RESOURCE = "link_to_external_resource"
    NAV_ITEM_TO_EXTERNAL_RESOURCE = "nav_item_to_external_resource"


class ImportOptionsError(ValueError):
    """The options contradict each other or are incomplete."""


@dataclass(frozen=True)
class ImportOptions:
    sites_dir: Path
    rules: tuple[Rule, ...]
    run_id: str
    commit: bool = False
    out_csv: Path | None = None
    published_only: bool = False
    license_policy: LicenseWarningPolicy = LicenseWarningPolicy.BY_DOMAIN
    sitemap_domain: str = DEFAULT_SITEMAP_DOMAIN
    site_names: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        sites_dir: str | Path,
        rules: Iterable[str],
        run_id: str,
        commit: bool = False,
        out_csv: str | Path | None = None,
        published_only: bool = False,
        add_external_license_warning: bool = False,
        no_external_license_warning: bool = False,
        sitemap_domain: str = DEFAULT_SITEMAP_DOMAIN,
        site_names: Sequence[str] = (),
    ) -> ImportOptions:
        """Validate raw option values (CLI flags or DAG Params) into options, or raise ImportOptionsError."""
        rule_names = list(dict.fromkeys(rules))
        if not rule_names:
            raise ImportOptionsError(f"name at least one rule: {', '.join(Rule)}")
        unknown = [name for name in rule_names if name not in set(Rule)]
        if unknown:
            raise ImportOptionsError(f"unknown rule(s) {unknown}; choose from {', '.join(Rule)}")
        if not commit and not out_csv:
            raise ImportOptionsError(
                "this is a dry run by default: pass commit to save changes, an output CSV to report them, or both"
            )
        try:
            policy = LicenseWarningPolicy.from_flags(
                add_warning=add_external_license_warning, no_warning=no_external_license_warning
            )
        except ValueError as error:
            raise ImportOptionsError(str(error)) from None
        if not str(sites_dir).strip():
            raise ImportOptionsError("no sites directory given (set OCW_SITES_DIR or pass sites_dir)")
        if not run_id:
            raise ImportOptionsError("run_id must not be empty")
        return cls(
            sites_dir=Path(sites_dir),
            rules=tuple(Rule(name) for name in rule_names),
            run_id=run_id,
            commit=commit,
            out_csv=Path(out_csv) if out_csv else None,
            published_only=published_only,
            license_policy=policy,
            sitemap_domain=(sitemap_domain or DEFAULT_SITEMAP_DOMAIN).strip().lower(),
            site_names=tuple(site_names),
        )


# --- resources known to this run -----------------------------------------------------------------------------


@dataclass
class CatalogEntry:
    uuid: str
    url: str
    title: str
    filename: str
    has_warning: bool
    site_name: str
    site_short_id: str
    db_id: int | None = None
    in_db: bool = False
    creating_row: ReportRow | None = None  # the row that announced its creation, corrected on a lost race


class ResourceCatalog:
    """URL -> resource: rows already in the archive DB plus those this run has planned."""

    def __init__(self, engine: Engine, options: ImportOptions) -> None:
        self.engine = engine
        self.options = options
        self._by_url: dict[str, CatalogEntry] = {}

    def prefetch(self, urls: Iterable[str]) -> None:
        unknown = sorted({url for url in urls if url not in self._by_url})
        if not unknown:
            return
        table = ExternalResource.__table__
        columns = [table.c[name] for name in ("id", "content_uuid", "url", "title", "filename")]
        columns += [table.c.has_external_license_warning, table.c.site_name, table.c.site_short_id]
        with self.engine.connect() as connection:
            for start in range(0, len(unknown), LOOKUP_CHUNK):
                chunk = unknown[start : start + LOOKUP_CHUNK]
                rows = connection.execute(select(*columns).where(table.c.url.in_(chunk)).order_by(table.c.id))
                for row in rows:
                    # The oldest row wins when other sources stored the same URL more than once.
                    self._by_url.setdefault(
                        row.url,
                        CatalogEntry(
                            uuid=row.content_uuid,
                            url=row.url,
                            title=row.title,
                            filename=row.filename or resource_filename(row.title or row.url, row.content_uuid),
                            has_warning=row.has_external_license_warning,
                            site_name=row.site_name,
                            site_short_id=row.site_short_id,
                            db_id=row.id,
                            in_db=True,
                        ),
                    )

    def resolve(self, url: str, title: str, site: SiteMetadata) -> tuple[CatalogEntry, ResourceAction]:
        entry = self._by_url.get(url)
        if entry is not None:
            return entry, ResourceAction.REUSED
        uuid = resource_uuid_for(url)
        entry = CatalogEntry(
            uuid=uuid,
            url=url,
            title=title,
            filename=resource_filename(title, uuid),
            has_warning=has_external_license_warning(url, self.options.license_policy, self.options.sitemap_domain),
            site_name=site.name,
            site_short_id=site.short_id,
        )
        self._by_url[url] = entry
        return entry, ResourceAction.CREATED if self.options.commit else ResourceAction.WOULD_CREATE


# --- planning ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    resource_uuid: str
    source_path: str
    source_uid: str
    kind: ReferenceSourceKind


@dataclass
class SitePlan:
    site: SiteFolder
    meta: SiteMetadata
    page_rewrites: list[tuple[ContentPage, str]] = field(default_factory=list)
    menus_rewrite: dict[str, list[dict[str, Any]]] | None = None
    references: set[Reference] = field(default_factory=set)
    entries: dict[str, CatalogEntry] = field(default_factory=dict)
    resource_page_uids: set[str] = field(default_factory=set)  # resource pages the site already has
    links_converted: int = 0
    nav_items_converted: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.page_rewrites or self.menus_rewrite is not None or self.references)


class _SitePlanner:
    def __init__(self, plan: SitePlan, catalog: ResourceCatalog, report: ImportReport) -> None:
        self.plan = plan
        self.catalog = catalog
        self.report = report

    def row(self, **values: Any) -> ReportRow:
        row = ReportRow(site_name=self.plan.meta.name, site_short_id=self.plan.meta.short_id, **values)
        self.report.rows.append(row)
        return row

    def use_resource(
        self, url: str, title: str, source: tuple[str, str, ReferenceSourceKind], row_values: dict[str, Any]
    ) -> tuple[CatalogEntry, ReportRow]:
        """Resolve (reuse or plan) the resource for ``url``, record the reference and its report row."""
        entry, action = self.catalog.resolve(url, title, self.plan.meta)
        self.plan.entries[entry.uuid] = entry
        self.plan.references.add(Reference(entry.uuid, *source))
        row = self.row(
            url=url,
            resource_uuid=entry.uuid,
            resource_filename=entry.filename,
            has_external_license_warning=entry.has_warning,
            resource_action=action,
            note="converted",
            **row_values,
        )
        if action is not ResourceAction.REUSED:
            entry.creating_row = row
        return entry, row

    # link_to_external_resource

    def plan_pages(self, pages: list[tuple[ContentPage, ScanResult]]) -> None:
        urls = [
            link.destination.strip()
            for _, scan in pages
            for link in scan.links
            if not link.is_image and is_external_destination(link.destination)
        ]
        self.catalog.prefetch(urls)
        for page, scan in pages:
            self.plan_page(page, scan)

    def plan_page(self, page: ContentPage, scan: ScanResult) -> None:
        replacements: list[tuple[int, int, str]] = []
        converted_labels: set[str] = set()
        kept_labels: set[str] = set()
        for link in scan.links:
            shortcode = self._convert_link(page, link)
            if shortcode is None:
                if link.kind is LinkKind.REFERENCE:
                    kept_labels.add(link.label)
                continue
            replacements.append((link.start, link.end, shortcode))
            if link.kind is LinkKind.REFERENCE:
                converted_labels.add(link.label)
        # A definition whose every use became a shortcode is dead; drop it so the page holds no stray URL.
        for label in sorted(converted_labels - kept_labels):
            definition = scan.definitions[label]
            replacements.append((definition.start, definition.end, ""))
        if replacements:
            self.plan.page_rewrites.append((page, _apply_replacements(page.body, replacements)))
            self.plan.links_converted += sum(1 for _, _, text in replacements if text)

    def _convert_link(self, page: ContentPage, link: MarkdownLink) -> str | None:
        if link.is_image or not is_external_destination(link.destination):
            return None  # images and internal links are not this rule's business
        row_values = {
            "rule": Rule.LINK_TO_EXTERNAL_RESOURCE.value,
            "source_path": page.relative_path,
            "source_uid": page.uid,
            "line": page.body_first_line + link.line - 1,
            "original": page.body[link.start : link.end],
        }
        try:
            if link.wraps_image:
                raise UnsafeShortcodeTitle("the link wraps an image, which a shortcode title cannot hold")
            url = validate_external_url(link.destination)
            title_argument = shortcode_title(link.text)
        except (InvalidExternalUrl, UnsafeShortcodeTitle) as problem:
            self.row(url=link.destination, note=f"left alone: {problem}", **row_values)
            return None
        source = (page.relative_path, page.uid, ReferenceSourceKind.PAGE)
        entry, row = self.use_resource(url, resource_title(link.text, url), source, row_values)
        row.replacement = resource_link_shortcode(entry.uuid, title_argument)
        return row.replacement

    # nav_item_to_external_resource

    def plan_menus(self, menus: dict[str, list[dict[str, Any]]]) -> None:
        self.catalog.prefetch(
            str(item["url"]).strip()
            for items in menus.values()
            for item in items
            if isinstance(item.get("url"), str) and is_external_destination(item["url"])
        )
        rewritten: dict[str, list[dict[str, Any]]] = {}
        changed = False
        for menu_name, items in menus.items():
            new_items, menu_changed = self._plan_menu(str(menu_name), items)
            rewritten[menu_name] = new_items
            changed = changed or menu_changed
        if changed:
            self.plan.menus_rewrite = rewritten

    def _plan_menu(self, menu_name: str, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        new_items: list[dict[str, Any]] = []
        identifier_changes: dict[str, str] = {}
        converted_urls: set[str] = set()
        for item in items:
            url = item.get("url")
            if not (isinstance(url, str) and is_external_destination(url)):
                new_items.append(item)
                continue
            row_values = {
                "rule": Rule.NAV_ITEM_TO_EXTERNAL_RESOURCE.value,
                "source_path": MENUS_PATH,
                "original": json.dumps(item, ensure_ascii=False, default=str),
            }
            try:
                valid_url = validate_external_url(url)
            except InvalidExternalUrl as problem:
                self.row(url=url, note=f"left alone: {problem}", **row_values)
                new_items.append(item)
                continue
            if valid_url in converted_urls:
                # Hugo rejects two entries with one identifier in the same menu.
                note = f"left alone: menu {menu_name!r} already links this resource"
                self.row(url=valid_url, note=note, **row_values)
                new_items.append(item)
                continue
            title = resource_title(str(item.get("name") or ""), valid_url)
            source = (MENUS_PATH, "", ReferenceSourceKind.MENU)
            entry, row = self.use_resource(valid_url, title, source, row_values)
            converted_urls.add(valid_url)
            replacement = {key: value for key, value in item.items() if key != "url"}
            replacement["identifier"] = entry.uuid
            row.replacement = json.dumps(replacement, ensure_ascii=False, default=str)
            if item.get("identifier") is not None:
                identifier_changes[str(item["identifier"])] = entry.uuid
            new_items.append(replacement)
            self.plan.nav_items_converted += 1
        # Children point at their parent's identifier, which just changed for converted items.
        for index, item in enumerate(new_items):
            parent = item.get("parent")
            if parent is not None and str(parent) in identifier_changes:
                new_items[index] = {**item, "parent": identifier_changes[str(parent)]}
        return new_items, bool(converted_urls)


def _apply_replacements(text: str, replacements: list[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end, new in sorted(replacements):
        if start < cursor:
            raise ValueError("overlapping replacements")  # the scanner never yields overlapping spans
        pieces.append(text[cursor:start])
        pieces.append(new)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def plan_site(
    site: SiteFolder, meta: SiteMetadata, options: ImportOptions, catalog: ResourceCatalog, report: ImportReport
) -> tuple[SitePlan, list[str]]:
    """Everything one site needs (rewrites, resources, references); reads files and the DB, writes nothing."""
    plan = SitePlan(site=site, meta=meta)
    errors: list[str] = []
    planner = _SitePlanner(plan, catalog, report)
    pages: list[tuple[ContentPage, ScanResult]] = []
    convert_links = Rule.LINK_TO_EXTERNAL_RESOURCE in options.rules
    for page in iter_content_pages(site):
        if isinstance(page, SiteFileError):
            errors.append(str(page))
            continue
        if len(page.relative_path) > SOURCE_PATH_MAX_LEN:
            errors.append(f"{page.relative_path[:80]}...: path longer than {SOURCE_PATH_MAX_LEN} characters")
            continue
        if page.relative_path.startswith(RESOURCE_PAGES_DIR + "/") and page.uid:
            plan.resource_page_uids.add(page.uid)
        if convert_links:
            pages.append((page, scan_markdown(page.body)))
    if convert_links:
        planner.plan_pages(pages)
    if Rule.NAV_ITEM_TO_EXTERNAL_RESOURCE in options.rules:
        try:
            menus = read_menus(site)
        except SiteFileError as error:
            errors.append(str(error))
            menus = None
        if menus is not None and menus.has_comments and menus.has_external_items:
            # safe_dump cannot keep comments; refusing beats silently deleting what the author wrote.
            errors.append(
                f"{MENUS_PATH}: has YAML comments that rewriting would drop; remove them to convert its items"
            )
        elif menus is not None:
            planner.plan_menus(menus.menus)
    return plan, errors


def persist_site(engine: Engine, plan: SitePlan, run_id: str) -> None:
    """Upsert the site's new resources and its references in one transaction (a rerun inserts nothing)."""
    table = ExternalResource.__table__
    new_entries = [entry for entry in plan.entries.values() if not entry.in_db]
    with session_scope(engine) as session:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        inserted: set[str] = set()
        for start in range(0, len(new_entries), LOOKUP_CHUNK):
            chunk = new_entries[start : start + LOOKUP_CHUNK]
            statement = (
                insert(table)
                .values([_resource_row(entry, run_id) for entry in chunk])
                .on_conflict_do_nothing(index_elements=["content_uuid"])
                .returning(table.c.content_uuid)
            )
            inserted.update(session.execute(statement).scalars())
        ids = _ids_by_uuid(session, [entry.uuid for entry in plan.entries.values()])
        for entry in plan.entries.values():
            entry.db_id = ids[entry.uuid]
            if not entry.in_db and entry.uuid not in inserted and entry.creating_row is not None:
                # Another run inserted the same resource between our lookup and our insert: we reused it.
                entry.creating_row.resource_action = ResourceAction.REUSED
                entry.creating_row.note = "converted; resource created concurrently by another run"
            entry.in_db = True
        upsert(
            session,
            ExternalResourceReference,
            [
                {
                    "resource_id": ids[reference.resource_uuid],
                    "site_name": plan.meta.name,
                    "source_path": reference.source_path,
                    "source_uid": reference.source_uid[:64],
                    "source_kind": reference.kind.value,
                }
                for reference in sorted(plan.references, key=lambda ref: (ref.source_path, ref.resource_uuid))
            ],
            conflict_columns=["resource_id", "site_name", "source_path"],
            update_columns=[],  # a reference is its key: nothing to update, so a rerun changes nothing
        )


def _resource_row(entry: CatalogEntry, run_id: str) -> dict[str, Any]:
    return {
        "content_uuid": entry.uuid,
        "site_name": entry.site_name,
        "site_short_id": entry.site_short_id,
        "title": entry.title,
        "url": entry.url,
        "has_external_license_warning": entry.has_warning,
        "filename": entry.filename,
        "created_by_run": run_id,
    }


def _ids_by_uuid(session: Any, uuids: list[str]) -> dict[str, int]:
    table = ExternalResource.__table__
    ids: dict[str, int] = {}
    for start in range(0, len(uuids), LOOKUP_CHUNK):
        chunk = uuids[start : start + LOOKUP_CHUNK]
        rows = session.execute(select(table.c.content_uuid, table.c.id).where(table.c.content_uuid.in_(chunk)))
        ids.update({row.content_uuid: row.id for row in rows})
    return ids


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
        persist_site(engine, plan, options.run_id)
        try:
            outcome.files_rewritten = write_site_files(plan)
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


def created_resource_ids(engine: Engine, run_id: str) -> list[int]:
    """Ids of every resource the run ``run_id`` inserted, including those of earlier attempts of that run."""
    table = ExternalResource.__table__
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.id).where(table.c.created_by_run == run_id).order_by(table.c.id))
        return [row.id for row in rows]
