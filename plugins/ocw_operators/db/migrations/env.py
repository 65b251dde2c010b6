"""Alembic environment: migrates the URL given by ``ocw_operators.db.migrate.alembic_config``."""

from alembic import context
from sqlalchemy import pool

from ocw_operators.db.engine import make_engine
from ocw_operators.db.models import Base

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a SQLite table (copy, drop, rename), and with foreign keys on, dropping a
            # table deletes the rows that reference it (ON DELETE CASCADE). The pragma cannot change inside a
            # transaction, so it is set before one begins; integrity is checked before the commit instead.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        # render_as_batch lets ALTER TABLE migrations work on SQLite too.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
    engine.dispose()


def _check_foreign_keys(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"migration left {len(broken)} rows referencing missing rows in {tables}; rolled back")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
