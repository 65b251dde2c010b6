"""Engine and session helpers for the archive state DB (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

# SQLite waits this long for a competing writer (concurrent mapped tasks) before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 60


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so concurrent task writers queue, not fail."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_S})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # pysqlite's own transaction handling defers BEGIN and breaks SELECT ... then UPDATE atomicity;
        # take control of it so `BEGIN IMMEDIATE` (see `immediate_transaction`) works.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine, *, write_lock: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error.

    ``write_lock=True`` takes the database write lock up front on SQLite (``BEGIN IMMEDIATE``) so a
    read-then-write sequence cannot interleave with another writer; on PostgreSQL use row locks
    (``SELECT ... FOR UPDATE``) inside the transaction instead.
    """
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if write_lock and is_sqlite(engine) else engine
    session = Session(bind=bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
