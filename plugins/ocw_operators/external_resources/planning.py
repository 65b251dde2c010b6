"""Planning one site: ocw-studio's two markdown_cleanup rules over its pages and menus, writing nothing.

``link_to_external_resource`` turns external markdown links in ``content/**/*.md`` into ``resource_link``
shortcodes; ``nav_item_to_external_resource`` turns external menu items into items that name the resource. Both
resolve each URL through the run's :class:`~ocw_operators.external_resources.catalog.ResourceCatalog` and record
which file references which resource. The result is a :class:`SitePlan` that persistence and rewriting apply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ocw_operators.db.models import ReferenceSourceKind
from ocw_operators.db.models.external_resources import SOURCE_PATH_MAX_LEN
from ocw_operators.external_resources.catalog import CatalogEntry, ResourceCatalog
from ocw_operators.external_resources.markdown_links import LinkKind, MarkdownLink, ScanResult, scan_markdown
from ocw_operators.external_resources.options import ImportOptions, Rule
from ocw_operators.external_resources.report import ImportReport, ReportRow, ResourceAction
from ocw_operators.external_resources.resource_fields import (
    InvalidExternalUrl,
    UnsafeShortcodeTitle,
    is_external_destination,
    resource_link_shortcode,
    resource_title,
    shortcode_title,
    validate_external_url,
)
from ocw_operators.external_resources.sites import (
    MENUS_PATH,
    RESOURCE_PAGES_DIR,
    ContentPage,
    SiteFileError,
    SiteFolder,
    SiteMetadata,
    iter_content_pages,
    read_menus,
)


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
        self.catalog.prefetch(self.plan.meta, urls)
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
        urls = [
            str(item["url"]).strip()
            for items in menus.values()
            for item in items
            if isinstance(item.get("url"), str) and is_external_destination(item["url"])
        ]
        self.catalog.prefetch(self.plan.meta, urls)
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
