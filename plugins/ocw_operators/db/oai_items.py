"""OAI-PMH harvest statements: the upsert by handle that every harvested page goes through, the harvest state
row of a scope, and the set filter."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from ocw_operators.db.models.oai import OaiHarvestedItem, OaiHarvestState
from ocw_operators.db.upsert import dialect_insert
from ocw_operators.oai.records import OaiRecord, uri_key


def upsert_items(session: Session, records: Sequence[OaiRecord], *, run_id: int | None, now: dt.datetime) -> int:
    """Insert or update harvested items by handle; an older datestamp never overwrites a newer one.

    Deleted records carry no metadata, so they keep the title and dc.identifier.uri harvested earlier.
    """
    newest: dict[str, OaiRecord] = {}
    # One row per handle, the newest: PostgreSQL refuses to update a row twice in one (batched) statement.
    for record in records:
        kept = newest.get(record.handle)
        if kept is None or record.datestamp >= kept.datestamp:
            newest[record.handle] = record
    if not newest:
        return 0
    rows = [_row(record, run_id, now) for record in newest.values()]
    # One cached statement executed with many parameter sets: compiling a fresh multi-VALUES statement for
    # every page costs more than the whole database write.
    session.execute(_upsert_statement(session.get_bind().dialect.name), rows)
    return len(rows)


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    table = OaiHarvestedItem.__table__
    statement = dialect_insert(dialect)(table)
    excluded = statement.excluded
    keep_if_missing = ("identifier_uri", "identifier_key", "title")
    replace = ("oai_identifier", "datestamp", "set_specs", "deleted", "last_harvest_run_id", "last_harvested_on")
    set_ = {name: excluded[name] for name in replace}
    set_.update({name: func.coalesce(excluded[name], table.c[name]) for name in keep_if_missing})
    set_.update(vanished_on=None, updated_on=excluded["updated_on"])
    return statement.on_conflict_do_update(
        index_elements=["handle"], set_=set_, where=excluded["datestamp"] >= table.c.datestamp
    )


def _row(record: OaiRecord, run_id: int | None, now: dt.datetime) -> dict:
    return {
        "handle": record.handle,
        "oai_identifier": record.oai_identifier,
        "datestamp": record.datestamp,
        "set_specs": " " + " ".join(record.set_specs) + " " if record.set_specs else " ",
        "deleted": record.deleted,
        "identifier_uri": record.identifier_uri,
        "identifier_key": uri_key(record.identifier_uri),
        "title": record.title,
        "last_harvest_run_id": run_id,
        "last_harvested_on": now,
        "vanished_on": None,
        "created_on": now,
        "updated_on": now,
    }


def insert_harvest_state(session: Session, endpoint: str, set_spec: str, metadata_prefix: str) -> None:
    """The harvest state row of a scope, unless it exists (concurrent first harvests both succeed)."""
    insert = dialect_insert(session.get_bind().dialect.name)
    session.execute(
        insert(OaiHarvestState.__table__)
        .values(endpoint=endpoint, set_spec=set_spec, metadata_prefix=metadata_prefix, granularity="")
        .on_conflict_do_nothing()
    )


def in_set(set_spec: str) -> ColumnElement[bool]:
    """Items harvested in ``set_spec``: ``set_specs`` holds them space-separated, with a space at each end."""
    escaped = set_spec.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return OaiHarvestedItem.set_specs.like(f"% {escaped} %", escape="\\")
