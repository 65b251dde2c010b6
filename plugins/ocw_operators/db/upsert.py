"""Dialect-aware bulk upsert (INSERT ... ON CONFLICT DO UPDATE) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

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
