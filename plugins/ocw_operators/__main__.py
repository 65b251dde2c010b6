"""Command line for operators: ``python -m ocw_operators <command>``.

* ``db upgrade`` migrates the archive state DB to the current schema.
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
