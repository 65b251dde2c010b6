"""Command line for operators: ``python -m ocw_operators <command>``.

* ``db upgrade`` migrates the archive state DB to the current schema.
* ``db create-postgres-database SERVER_URL NAME`` creates the database on a server (deployment bootstrap).
* ``resources import FILE`` loads external resources from CSV or JSON (see ``ocw_operators.resources.importer``).

The DB is ``--db-url``, else ``OCW_ARCHIVE_DB_URL``, else the Airflow Connection ``ocw_archive_db``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ocw_operators.db import make_engine, migrate, session_scope
from ocw_operators.resources.importer import ResourceImportError, import_records, read_records


def archive_db_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("OCW_ARCHIVE_DB_URL"):
        return os.environ["OCW_ARCHIVE_DB_URL"]
    # Airflow is imported only when the Connection is actually needed: it costs a second at start-up.
    from ocw_operators.hooks.archive_db import ArchiveDbHook  # noqa: PLC0415

    return ArchiveDbHook().sqlalchemy_url()


def _db_upgrade(args: argparse.Namespace) -> int:
    migrate.upgrade(archive_db_url(args.db_url))
    print("archive DB is at the current schema")
    return 0


def _create_postgres_database(args: argparse.Namespace) -> int:
    """Create the archive database on a PostgreSQL server if it is missing (deployment bootstrap)."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    if not args.name.replace("_", "").isalnum():
        print(f"error: refusing database name {args.name!r}", file=sys.stderr)
        return 2
    engine = create_engine(args.server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": args.name}).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{args.name}"'))
    engine.dispose()
    print(f"database {args.name} {'exists' if exists else 'created'}")
    return 0


def _resources_import(args: argparse.Namespace) -> int:
    try:
        records = read_records(Path(args.file))
    except (ResourceImportError, OSError, json.JSONDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    engine = make_engine(archive_db_url(args.db_url))
    with session_scope(engine) as session:
        summary = import_records(session, records)
    engine.dispose()
    print(json.dumps({"read": len(records), "created": len(summary.created_ids), "updated": summary.updated}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocw_operators", description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", help="SQLAlchemy URL of the archive DB (default: see module help)")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="archive DB schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="migrate to the current schema").set_defaults(handler=_db_upgrade)
    create = db.add_parser("create-postgres-database", help="create the archive database if missing")
    create.add_argument("server_url", help="SQLAlchemy URL of any database on the server (e.g. .../postgres)")
    create.add_argument("name")
    create.set_defaults(handler=_create_postgres_database)
    resources = commands.add_parser("resources", help="external resources").add_subparsers(
        dest="resources_command", required=True
    )
    importer = resources.add_parser("import", help="load resources from CSV or JSON")
    importer.add_argument("file")
    importer.set_defaults(handler=_resources_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
