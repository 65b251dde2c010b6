"""The resources one import run knows, by (site, URL): rows already in the archive DB, the external-resource pages the
sites already have, and those the run planned."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from ocw_operators.db.models import ExternalResource, ResourceStatus
from ocw_operators.db.models.external_resources import url_sha256
from ocw_operators.external_resources.identity import resource_uuid
from ocw_operators.external_resources.options import ImportOptions
from ocw_operators.external_resources.report import ReportRow, ResourceAction
from ocw_operators.external_resources.resource_fields import has_external_license_warning, resource_filename
from ocw_operators.external_resources.resource_pages import ResourcePage
from ocw_operators.external_resources.sites import SiteMetadata

LOOKUP_CHUNK = 500


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
    has_page: bool = False  # the site already has its external-resource page
    status: str = ResourceStatus.UNCHECKED.value
    wayback_url: str = ""
    creating_row: ReportRow | None = None  # the row that announced its creation, corrected on a lost race


class ResourceCatalog:
    """(site, URL) -> resource: rows already in the archive DB plus those this run has planned.

    A resource belongs to one site, as in ocw-studio's ``get_or_build_external_resource``: a URL already stored for
    another site is another site's resource, and this site gets its own. The site's own external-resource pages are
    its resources too (ocw-studio made them): :meth:`register_page` adds them, so links reuse them.
    """

    def __init__(self, engine: Engine, options: ImportOptions) -> None:
        self.engine = engine
        self.options = options
        self._by_key: dict[tuple[str, str], CatalogEntry] = {}
        self._blocked: dict[tuple[str, str], str] = {}
        self._paged: set[tuple[str, str]] = set()  # (site, URL) of the pages registered

    def prefetch(self, site: SiteMetadata, urls: Iterable[str]) -> None:
        unknown = {url_sha256(url): url for url in urls if (site.name, url) not in self._by_key}
        if not unknown:
            return
        table = ExternalResource.__table__
        digests = sorted(unknown)
        with self.engine.connect() as connection:
            for start in range(0, len(digests), LOOKUP_CHUNK):
                chunk = digests[start : start + LOOKUP_CHUNK]
                rows = connection.execute(
                    select(*self._columns()).where(table.c.site_name == site.name, table.c.url_sha256.in_(chunk))
                )
                for row in rows:
                    self._by_key[(site.name, row.url)] = self._entry_of(row)

    @staticmethod
    def _columns() -> list:
        table = ExternalResource.__table__
        names = ("id", "content_uuid", "url", "title", "filename", "has_external_license_warning", "site_name")
        return [table.c[name] for name in (*names, "site_short_id", "status", "wayback_url")]

    @staticmethod
    def _entry_of(row) -> CatalogEntry:
        return CatalogEntry(
            uuid=row.content_uuid,
            url=row.url,
            title=row.title,
            filename=row.filename or resource_filename(row.title or row.url, row.content_uuid),
            has_warning=row.has_external_license_warning,
            site_name=row.site_name,
            site_short_id=row.site_short_id,
            db_id=row.id,
            in_db=True,
            status=row.status,
            wayback_url=row.wayback_url,
        )

    def stored_urls_by_uuid(self, site: SiteMetadata, uuids: Iterable[str]) -> dict[str, str]:
        """The URL stored for each of these UUIDs of the site (a page's uid must not name another URL's resource)."""
        table = ExternalResource.__table__
        wanted = sorted(set(uuids))
        found: dict[str, str] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                chunk = wanted[start : start + LOOKUP_CHUNK]
                rows = connection.execute(
                    select(table.c.content_uuid, table.c.url).where(
                        table.c.site_name == site.name, table.c.content_uuid.in_(chunk)
                    )
                )
                found.update({row.content_uuid: row.url for row in rows})
        return found

    def register_page(self, page: ResourcePage, site: SiteMetadata) -> tuple[CatalogEntry, ResourceAction]:
        """Make an existing external-resource page the site's resource for its URL.

        Returns the entry and REUSED (already stored under the page's uid), LOADED/WOULD_LOAD (new to the archive
        DB), or NONE with another page's entry (the site has two pages for the URL: the first one stands). Raises
        :class:`ValueError` when the archive DB holds the URL under another UUID: links to that URL are then left
        alone (:meth:`blocked_reason`), since pages and the archive DB would name different resources.
        """
        key = (site.name, page.url)
        entry = self._by_key.get(key)
        if key in self._paged and entry is not None:
            return entry, ResourceAction.NONE
        self._paged.add(key)
        if entry is not None:
            entry.has_page = True
            if entry.uuid == page.uid:
                return entry, ResourceAction.REUSED
            reason = (
                f"{page.relative_path}: {page.url} is stored in the archive DB as resource {entry.uuid}, but the "
                f"page's uid is {page.uid}"
            )
            self._blocked[key] = reason
            raise ValueError(reason)
        entry = CatalogEntry(
            uuid=page.uid,
            url=page.url,
            title=page.title or page.url,
            filename=page.filename,
            has_warning=page.has_external_license_warning,
            site_name=site.name,
            site_short_id=site.short_id,
            has_page=True,
            status=page.status,
            wayback_url=page.wayback_url,
        )
        self._by_key[key] = entry
        return entry, ResourceAction.LOADED if self.options.commit else ResourceAction.WOULD_LOAD

    def blocked_reason(self, url: str, site: SiteMetadata) -> str | None:
        return self._blocked.get((site.name, url))

    def resolve(self, url: str, title: str, site: SiteMetadata) -> tuple[CatalogEntry, ResourceAction]:
        entry = self._by_key.get((site.name, url))
        if entry is not None:
            return entry, ResourceAction.REUSED
        uuid = resource_uuid(site.name, url)
        entry = CatalogEntry(
            uuid=uuid,
            url=url,
            title=title,
            filename=resource_filename(title, uuid),
            has_warning=has_external_license_warning(url, self.options.license_policy, self.options.sitemap_domain),
            site_name=site.name,
            site_short_id=site.short_id,
        )
        self._by_key[(site.name, url)] = entry
        return entry, ResourceAction.CREATED if self.options.commit else ResourceAction.WOULD_CREATE
