"""Dialect-aware upserts (INSERT ... ON CONFLICT) for SQLite and PostgreSQL: the generic bulk :func:`upsert`, and
the harvested-item and harvest-state statements of the OAI-PMH harvest."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from ocw_operators.db.models.oai import OaiHarvestedItem, OaiHarvestState

# Keeps each statement below SQLite's 32,766 bound-parameter limit for wide rows.
UPSERT_CHUNK_ROWS = 500


def upsert(
    session: Session,
    model: type[DeclarativeBase] | Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    conflict_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
) -> int:
    """Insert ``rows``; on a conflict over ``conflict_columns`` update ``update_columns`` (all others if None).

    Returns the number of rows sent. Only the named columns are written, so concurrent writers that own
    different columns of the same row never overwrite each other's values.
    """
    table = model if isinstance(model, Table) else model.__table__
    insert = dialect_insert(session.get_bind().dialect.name)
    batch: list[Mapping[str, Any]] = []
    sent = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= UPSERT_CHUNK_ROWS:
            sent += _upsert_chunk(
                session, table, insert, batch, conflict_columns=conflict_columns, update_columns=update_columns
            )
            batch = []
    if batch:
        sent += _upsert_chunk(
            session, table, insert, batch, conflict_columns=conflict_columns, update_columns=update_columns
        )
    return sent


def _upsert_chunk(session, table, insert, batch, *, conflict_columns, update_columns) -> int:
    columns = update_columns
    if columns is None:
        columns = [key for key in batch[0] if key not in conflict_columns]
    statement = insert(table).values(list(batch))
    if columns:
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict_columns),
            set_={name: statement.excluded[name] for name in columns},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict_columns))
    session.execute(statement)
    return len(batch)


def dialect_insert(dialect: str) -> Any:
    """The ``insert`` construct with ``on_conflict_*`` for a dialect name (PostgreSQL's, else SQLite's)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def upsert_harvested_items(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or update harvested items by handle (at most one row per handle); an older datestamp never
    overwrites a newer one, and a row without title or dc.identifier.uri (a deleted record) keeps those."""
    if not rows:
        return 0
    # One cached statement executed with many parameter sets: compiling a fresh multi-VALUES statement for
    # every page costs more than the whole database write.
    session.execute(_harvested_items_statement(session.get_bind().dialect.name), list(rows))
    return len(rows)


@functools.cache
def _harvested_items_statement(dialect: str) -> Any:
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


def insert_harvest_state(session: Session, endpoint: str, set_spec: str, metadata_prefix: str) -> None:
    """The harvest state row of a scope, unless it exists (concurrent first harvests both succeed)."""
    insert = dialect_insert(session.get_bind().dialect.name)
    session.execute(
        insert(OaiHarvestState.__table__)
        .values(endpoint=endpoint, set_spec=set_spec, metadata_prefix=metadata_prefix, granularity="")
        .on_conflict_do_nothing()
    )
