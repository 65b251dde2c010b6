"""Hook for the archive state DB (Connection ``ocw_archive_db``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from ocw_operators.db.engine import make_engine, session_scope
from ocw_operators.db.migrate import pending_heads


@cache
def _engine_for(url: str) -> Engine:
    # One pool per URL per process: every task in a worker process shares it.
    return make_engine(url)


def sqlalchemy_url_from_connection(conn: Any) -> str:
    """Build a SQLAlchemy URL from an Airflow Connection.

    ``extra.sqlalchemy_url`` wins when set. Otherwise ``sqlite`` connections take the database file from
    ``host`` (as Airflow's SqliteHook does) and ``postgres`` connections use login/password/host/port/schema.
    """
    extra = conn.extra_dejson or {}
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        path = conn.host or conn.schema
        if not path:
            raise AirflowException(f"Connection {conn.conn_id!r} (sqlite) needs the database file path in host")
        return f"sqlite:///{path}"
    if conn_type in {"postgres", "postgresql"}:
        return URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        ).render_as_string(hide_password=False)
    raise AirflowException(
        f"Connection {conn.conn_id!r} has type {conn.conn_type!r}; the archive DB supports sqlite and postgres "
        "(or set extra.sqlalchemy_url)"
    )


class ArchiveDbHook(BaseHook):
    """SQLAlchemy access to the archive state DB: the pipelines' system of record.

    :param archive_db_conn_id: Airflow Connection id of the archive DB (type ``sqlite`` or ``postgres``).
    """

    conn_name_attr = "archive_db_conn_id"
    default_conn_name = "ocw_archive_db"
    conn_type = "ocw_archive_db"
    hook_name = "OCW Archive State DB"

    def __init__(self, archive_db_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.archive_db_conn_id = archive_db_conn_id

    def sqlalchemy_url(self) -> str:
        return sqlalchemy_url_from_connection(self.get_connection(self.archive_db_conn_id))

    def get_conn(self) -> Engine:
        return _engine_for(self.sqlalchemy_url())

    @contextmanager
    def session(self, *, write_lock: bool = False) -> Iterator[Session]:
        """One committed transaction (see :func:`ocw_operators.db.engine.session_scope`)."""
        with session_scope(self.get_conn(), write_lock=write_lock) as session:
            yield session

    def check_schema(self) -> None:
        """Fail clearly when the archive DB has not been migrated (``python -m ocw_operators db upgrade``)."""
        missing = pending_heads(self.get_conn())
        if missing:
            raise AirflowException(
                f"Archive DB is missing migrations {sorted(missing)}; run `python -m ocw_operators db upgrade`"
            )

    def test_connection(self) -> tuple[bool, str]:
        try:
            with self.get_conn().connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            return False, str(error)
        return True, "Connection successfully tested"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": [],
            "relabeling": {"host": "Host (PostgreSQL) or database file path (SQLite)", "schema": "Database"},
            "placeholders": {"extra": '{"sqlalchemy_url": "postgresql+psycopg2://user@host/ocw_archive"}'},
        }
