"""Bulk inserts of many plain rows, and the text form SQLite stores a UTC ``DateTime`` in.

On SQLite the rows go straight to the driver with their datetimes already as SQLAlchemy stores them
(:func:`sqlite_datetime`): SQLAlchemy's per-value bind processing would cost more than the insert itself. Other
databases get Core's executemany, which psycopg2 batches into multi-row INSERTs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.orm import Session

from ocw_operators.db.base import as_utc


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """One executemany in the session's transaction; on SQLite, datetimes must be given as
    :func:`sqlite_datetime` or :func:`sqlite_seconds` text."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        placeholders = ", ".join("?" * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", rows)
    else:
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def sqlite_datetime(value: dt.datetime) -> str:
    """SQLAlchemy's text form of a UTC DateTime on SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_seconds(seconds: int) -> str:
    """:func:`sqlite_datetime` of whole epoch seconds, without building a datetime per row."""
    return "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.000000".format(*time.gmtime(seconds)[:6])
