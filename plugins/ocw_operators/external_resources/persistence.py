"""Saving a site's plan: its new resources and its references, in one archive-DB transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, ExternalResourceReference, WaybackStatus
from ocw_operators.db.models.external_resources import url_sha256
from ocw_operators.db.upsert import dialect_insert, upsert
from ocw_operators.external_resources.catalog import LOOKUP_CHUNK, CatalogEntry
from ocw_operators.external_resources.planning import SitePlan
from ocw_operators.external_resources.report import ResourceAction


class ResourceConflict(Exception):
    """Another writer stored a resource of this site with another UUID than the one the pages would name."""


def persist_site(engine: Engine, plan: SitePlan, run_id: str) -> None:
    """Upsert the site's new resources and its references in one transaction (a rerun inserts nothing).

    Raises :class:`ResourceConflict`, saving nothing for the site, when a resource planned here was meanwhile
    stored under another UUID (or the UUID went to another URL of the site): the pages must name what is stored,
    and the next run plans with it.
    """
    table = ExternalResource.__table__
    new_entries = [entry for entry in plan.entries.values() if not entry.in_db]
    with session_scope(engine) as session:
        insert = dialect_insert(session.get_bind().dialect.name)
        inserted: set[str] = set()
        for start in range(0, len(new_entries), LOOKUP_CHUNK):
            chunk = new_entries[start : start + LOOKUP_CHUNK]
            statement = (
                insert(table)
                .values([_resource_row(entry, run_id) for entry in chunk])
                .on_conflict_do_nothing()  # (site, URL) or (site, UUID) taken: checked below
                .returning(table.c.url_sha256)
            )
            inserted.update(session.execute(statement).scalars())
        stored = _stored_by_digest(session, plan.meta.name, [url_sha256(entry.url) for entry in plan.entries.values()])
        for entry in plan.entries.values():
            digest = url_sha256(entry.url)
            resource_id, stored_uuid = stored.get(digest, (None, None))
            if stored_uuid != entry.uuid:
                raise ResourceConflict(
                    f"{entry.url}: stored meanwhile by another writer as resource "
                    f"{stored_uuid or 'of another URL with the same UUID'}; nothing saved for this site, rerun"
                )
            entry.db_id = resource_id
            if not entry.in_db and digest not in inserted and entry.creating_row is not None:
                # Another run inserted the same resource between our lookup and our insert: we reused it.
                entry.creating_row.resource_action = ResourceAction.REUSED
                entry.creating_row.note = "converted; resource created concurrently by another run"
            entry.in_db = True
        ids = {entry.uuid: entry.db_id for entry in plan.entries.values()}
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
        "url_sha256": url_sha256(entry.url),
        "has_external_license_warning": entry.has_warning,
        "filename": entry.filename,
        "created_by_run": run_id,
        # A resource loaded from its page keeps what ocw-studio recorded there; a new one is unchecked.
        "status": entry.status,
        "wayback_url": entry.wayback_url,
        "wayback_status": WaybackStatus.SUCCESS.value if entry.wayback_url else WaybackStatus.NONE.value,
    }


def _stored_by_digest(session: Session, site_name: str, digests: list[str]) -> dict[str, tuple[int, str]]:
    table = ExternalResource.__table__
    stored: dict[str, tuple[int, str]] = {}
    for start in range(0, len(digests), LOOKUP_CHUNK):
        chunk = digests[start : start + LOOKUP_CHUNK]
        rows = session.execute(
            select(table.c.url_sha256, table.c.id, table.c.content_uuid).where(
                table.c.site_name == site_name, table.c.url_sha256.in_(chunk)
            )
        )
        stored.update({row.url_sha256: (row.id, row.content_uuid) for row in rows})
    return stored
