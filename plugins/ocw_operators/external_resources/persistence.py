"""Saving a site's plan: its new resources and its references, in one archive-DB transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, ExternalResourceReference
from ocw_operators.db.upsert import upsert
from ocw_operators.external_resources.catalog import LOOKUP_CHUNK, CatalogEntry
from ocw_operators.external_resources.planning import SitePlan
from ocw_operators.external_resources.report import ResourceAction


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
