"""Hook for the archive state DB (Connection ``ocw_archive_db``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.log import mask_secret
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from ocw_operators.connection_fields import ExtraFieldError
from ocw_operators.connection_forms import ARCHIVE_DB
from ocw_operators.db.engine import make_engine, session_scope
from ocw_operators.db.migrate import pending_heads


@cache
def _engine_for(url: str) -> Engine:
    # One pool per URL per process: every task in a worker process shares it.
    return make_engine(url)


def sqlalchemy_url_from_connection(conn: Any) -> str:
    """Build a SQLAlchemy URL from an Airflow Connection.

    ``extra.sqlalchemy_url`` wins when set; the Connection's password completes a URL that has none (so the
    password can live in the masked Password field). Otherwise ``sqlite`` connections take the database file from
    ``host`` (as Airflow's SqliteHook does) and ``postgres`` connections use login/password/host/port/schema.
    """
    conn_type = (conn.conn_type or "").lower()
    try:
        extra = ARCHIVE_DB.parse_extra(conn.conn_id, conn.extra_dejson, warn_unused=conn_type == ARCHIVE_DB.conn_type)
    except ExtraFieldError as error:
        raise AirflowException(str(error)) from None
    if extra["sqlalchemy_url"]:
        return _with_password(conn.conn_id, extra["sqlalchemy_url"], conn.password)
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


def _with_password(conn_id: str, url: str, password: str | None) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # SQLAlchemy's message would not quote the URL either, but say which Connection it is.
        raise AirflowException(f"Connection {conn_id!r}: extra.sqlalchemy_url is not a SQLAlchemy URL") from None
    if parsed.password or not password:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


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
        url = sqlalchemy_url_from_connection(self.get_connection(self.archive_db_conn_id))
        password = make_url(url).password
        if password:
            # A password written into extra.sqlalchemy_url is not a Connection password: Airflow would not mask it.
            mask_secret(str(password))
        return url

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
        password, engine = None, None
        try:
            url = self.sqlalchemy_url()
            password = make_url(url).password
            # Not the cached per-process engine: the UI's Test button tries URLs that may never be used again.
            engine = make_engine(url)
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            missing = pending_heads(engine)
        except Exception as error:
            message = f"{error.__class__.__name__}: {error}"
            return False, message.replace(str(password), "***") if password else message
        finally:
            if engine is not None:
                engine.dispose()
        if missing:
            return True, f"Connected; the archive DB still needs `python -m ocw_operators db upgrade` ({len(missing)})"
        return True, "Connected; the archive DB schema is up to date"
