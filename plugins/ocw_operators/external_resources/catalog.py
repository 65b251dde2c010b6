"""The resources one import run knows, by (site, URL): rows already in the archive DB and those the run planned."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from ocw_operators.db.models import ExternalResource
from ocw_operators.db.models.external_resources import url_sha256
from ocw_operators.external_resources.identity import resource_uuid
from ocw_operators.external_resources.options import ImportOptions
from ocw_operators.external_resources.report import ReportRow, ResourceAction
from ocw_operators.external_resources.resource_fields import has_external_license_warning, resource_filename
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
    creating_row: ReportRow | None = None  # the row that announced its creation, corrected on a lost race


class ResourceCatalog:
    """(site, URL) -> resource: rows already in the archive DB plus those this run has planned.

    A resource belongs to one site, as in ocw-studio's ``get_or_build_external_resource``: a URL already stored for
    another site is another site's resource, and this site gets its own.
    """

    def __init__(self, engine: Engine, options: ImportOptions) -> None:
        self.engine = engine
        self.options = options
        self._by_key: dict[tuple[str, str], CatalogEntry] = {}

    def prefetch(self, site: SiteMetadata, urls: Iterable[str]) -> None:
        unknown = {url_sha256(url): url for url in urls if (site.name, url) not in self._by_key}
        if not unknown:
            return
        table = ExternalResource.__table__
        columns = [table.c[name] for name in ("id", "content_uuid", "url", "title", "filename")]
        columns += [table.c.has_external_license_warning, table.c.site_name, table.c.site_short_id]
        digests = sorted(unknown)
        with self.engine.connect() as connection:
            for start in range(0, len(digests), LOOKUP_CHUNK):
                chunk = digests[start : start + LOOKUP_CHUNK]
                rows = connection.execute(
                    select(*columns).where(table.c.site_name == site.name, table.c.url_sha256.in_(chunk))
                )
                for row in rows:
                    self._by_key[(site.name, row.url)] = CatalogEntry(
                        uuid=row.content_uuid,
                        url=row.url,
                        title=row.title,
                        filename=row.filename or resource_filename(row.title or row.url, row.content_uuid),
                        has_warning=row.has_external_license_warning,
                        site_name=row.site_name,
                        site_short_id=row.site_short_id,
                        db_id=row.id,
                        in_db=True,
                    )

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
