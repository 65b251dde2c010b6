"""Planning one site: ocw-studio's two markdown_cleanup rules over its files, writing nothing.

``link_to_external_resource`` turns external markdown links into ``resource_link`` shortcodes in the fields of
ocw-studio's ``LinkToExternalResourceRule.fields``: the body of every content file, its front matter fields
``description``, ``optional_text``, ``related_resources_text``, ``image_metadata.caption`` and
``image_metadata.credit``, and ``course_description`` in ``data/course.json``; only the changed values are rewritten.
``nav_item_to_external_resource`` turns external menu items into items that name the resource. The site's
existing external-resource pages are its resources first (:meth:`ResourceCatalog.register_page`). Each URL is
resolved through the run's :class:`~ocw_operators.external_resources.catalog.ResourceCatalog`, and which file
references which resource is recorded. The result is a :class:`SitePlan` that persistence and rewriting apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocw_operators.db.models import ReferenceSourceKind
from ocw_operators.db.models.external_resources import SOURCE_PATH_MAX_LEN
from ocw_operators.external_resources import front_matter
from ocw_operators.external_resources.catalog import CatalogEntry, ResourceCatalog
from ocw_operators.external_resources.link_conversion import convert_links, link_urls
from ocw_operators.external_resources.menu_conversion import plan_menus
from ocw_operators.external_resources.options import ImportOptions, Rule
from ocw_operators.external_resources.report import ImportReport, ReportRow, ResourceAction
from ocw_operators.external_resources.resource_pages import is_resource_page, parse_resource_page, resource_page_path
from ocw_operators.external_resources.sites import (
    MENUS_PATH,
    SITE_METADATA_PATH,
    ContentPage,
    SiteFileError,
    SiteFolder,
    SiteMetadata,
    dump_menus,
    iter_content_pages,
    read_menus,
)

# ocw-studio's LinkToExternalResourceRule.fields, besides "markdown" (the body) and "metadata.course_description".
LINK_FIELDS: tuple[tuple[str, ...], ...] = (
    ("related_resources_text",),
    ("image_metadata", "caption"),
    ("image_metadata", "credit"),
    ("optional_text",),
    ("description",),
)
BODY_FIELD = "markdown"
COURSE_DESCRIPTION = "course_description"


def field_name(path: tuple[str, ...]) -> str:
    """ocw-studio's name of a front matter field: ``metadata.image_metadata.caption``."""
    return "metadata." + ".".join(path)


@dataclass(frozen=True)
class Reference:
    resource_uuid: str
    source_path: str
    source_uid: str
    kind: ReferenceSourceKind


@dataclass(frozen=True)
class FileRewrite:
    relative_path: str
    path: Path
    original: str  # the text as read (newlines normalized): the file must still hold it when rewritten
    new: str
    newline: str


@dataclass
class SitePlan:
    site: SiteFolder
    meta: SiteMetadata
    rewrites: list[FileRewrite] = field(default_factory=list)
    references: set[Reference] = field(default_factory=set)
    entries: dict[str, CatalogEntry] = field(default_factory=dict)
    links_converted: int = 0
    nav_items_converted: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.rewrites or self.references or any(not entry.in_db for entry in self.entries.values()))

    @property
    def changed_paths(self) -> list[str]:
        """Site-relative paths of every file the plan rewrites or creates (resource pages included)."""
        new_pages = [
            resource_page_path(self.site, entry.filename).relative_to(self.site.path).as_posix()
            for entry in self.entries.values()
            if not entry.has_page
        ]
        return sorted({rewrite.relative_path for rewrite in self.rewrites} | set(new_pages))


class SitePlanner:
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

    # existing external-resource pages

    def register_resource_pages(self, pages: list[ContentPage]) -> list[str]:
        parsed = []
        errors: list[str] = []
        for page in pages:
            try:
                parsed.append(parse_resource_page(page))
            except SiteFileError as error:
                errors.append(str(error))
        meta = self.plan.meta
        self.catalog.prefetch(meta, [page.url for page in parsed])
        stored_urls = self.catalog.stored_urls_by_uuid(meta, [page.uid for page in parsed])
        for page in parsed:
            values = {"source_path": page.relative_path, "source_uid": page.uid, "url": page.url}
            if page.uid in stored_urls and stored_urls[page.uid] != page.url:
                errors.append(
                    f"{page.relative_path}: uid {page.uid} is stored in the archive DB for another URL "
                    f"({stored_urls[page.uid]}); the page was not loaded"
                )
                continue
            try:
                entry, action = self.catalog.register_page(page, meta)
            except ValueError as conflict:
                errors.append(str(conflict))
                continue
            if entry.uuid != page.uid:  # a second page of the site for a URL another page already stands for
                self.row(note=f"external resource page not loaded: {entry.url} is resource {entry.uuid}", **values)
                continue
            self.plan.entries[entry.uuid] = entry
            if action is not ResourceAction.REUSED:
                note = "external resource page loaded into the archive DB"
                entry.creating_row = self.row(resource_uuid=entry.uuid, resource_filename=entry.filename,
                                              has_external_license_warning=entry.has_warning, resource_action=action,
                                              note=note, **values)  # fmt: skip
        return errors

    # link_to_external_resource

    def plan_links(self, pages: list[ContentPage]) -> list[str]:
        meta = self.plan.meta
        urls = [url for page in pages for text in _page_texts(page).values() for url in link_urls(text)]
        urls += link_urls(meta.course_description)
        self.catalog.prefetch(meta, urls)
        errors: list[str] = []
        for page in pages:
            try:
                self._plan_page(page)
            except front_matter.FrontMatterError as error:
                errors.append(f"{page.relative_path}: {error}")
        if meta.course_description and meta.source is not None:
            try:
                self._plan_course_description()
            except front_matter.FrontMatterError as error:
                errors.append(f"{SITE_METADATA_PATH}: {error}")
        return errors

    def _convert(
        self, text: str, *, source: tuple[str, str, ReferenceSourceKind], name: str, first_line: int | None
    ) -> str | None:
        source_path, source_uid, _ = source

        def resolve(url: str, title: str, row_values: dict[str, Any]) -> tuple[CatalogEntry, ReportRow] | str:
            blocked = self.catalog.blocked_reason(url, self.plan.meta)
            if blocked:
                return blocked
            return self.use_resource(url, title, source, row_values)

        context = {"rule": Rule.LINK_TO_EXTERNAL_RESOURCE.value, "source_path": source_path,
                   "source_uid": source_uid, "field": name}  # fmt: skip
        new_text, converted = convert_links(text, first_line, context, resolve, self.row)
        self.plan.links_converted += converted
        return new_text if converted else None

    def _plan_page(self, page: ContentPage) -> None:
        source = (page.relative_path, page.uid, ReferenceSourceKind.PAGE)
        body = self._convert(page.body, source=source, name=BODY_FIELD, first_line=page.body_first_line)
        block = page.front_matter
        for path in LINK_FIELDS:
            value = front_matter.get_path(page.data, path)
            if not isinstance(value, str) or not link_urls(value):
                continue
            if not page.is_yaml:
                raise front_matter.FrontMatterError(f"{field_name(path)}: only YAML front matter can be rewritten")
            new_value = self._convert(value, source=source, name=field_name(path), first_line=None)
            if new_value is not None:
                data = front_matter.set_yaml_value(front_matter.yaml_block_data(block), path, new_value)
                block = front_matter.with_yaml_data(block, data)
        if body is not None or block != page.front_matter:
            new_text = block + (page.body if body is None else body)
            self.plan.rewrites.append(FileRewrite(page.relative_path, page.path, page.text, new_text, page.newline))

    def _plan_course_description(self) -> None:
        meta = self.plan.meta
        if meta.source is None:  # metadata built without its file (tests): nothing to rewrite
            return
        source = (SITE_METADATA_PATH, meta.site_uid, ReferenceSourceKind.METADATA)
        new_value = self._convert(
            meta.course_description, source=source, name=field_name((COURSE_DESCRIPTION,)), first_line=None
        )
        if new_value is not None:
            new_text = front_matter.set_json_string(meta.source.text, COURSE_DESCRIPTION, new_value)
            path = self.plan.site.path / SITE_METADATA_PATH
            self.plan.rewrites.append(
                FileRewrite(SITE_METADATA_PATH, path, meta.source.text, new_text, meta.source.newline)
            )


def _page_texts(page: ContentPage) -> dict[str, str]:
    texts = {BODY_FIELD: page.body}
    for path in LINK_FIELDS:
        value = front_matter.get_path(page.data, path)
        if isinstance(value, str):
            texts[field_name(path)] = value
    return texts


def plan_site(
    site: SiteFolder, meta: SiteMetadata, options: ImportOptions, catalog: ResourceCatalog, report: ImportReport
) -> tuple[SitePlan, list[str]]:
    """Everything one site needs (rewrites, resources, references); reads files and the DB, writes nothing."""
    plan = SitePlan(site=site, meta=meta)
    errors: list[str] = []
    planner = SitePlanner(plan, catalog, report)
    pages: list[ContentPage] = []
    resource_pages: list[ContentPage] = []
    for page in iter_content_pages(site):
        if isinstance(page, SiteFileError):
            errors.append(str(page))
        elif len(page.relative_path) > SOURCE_PATH_MAX_LEN:
            errors.append(f"{page.relative_path[:80]}...: path longer than {SOURCE_PATH_MAX_LEN} characters")
        else:
            pages.append(page)
            if is_resource_page(page):
                resource_pages.append(page)
    errors += planner.register_resource_pages(resource_pages)
    if Rule.LINK_TO_EXTERNAL_RESOURCE in options.rules:
        errors += planner.plan_links(pages)
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
            rewritten = plan_menus(planner, menus.menus)
            if rewritten is not None:
                path = site.path / MENUS_PATH
                new_text = dump_menus(rewritten)
                plan.rewrites.append(FileRewrite(MENUS_PATH, path, menus.source.text, new_text, menus.source.newline))
    return plan, errors
