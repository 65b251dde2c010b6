"""Command line for operators: ``python -m ocw_operators [--db-url URL | --conn-id ID] <command>``.

* ``db upgrade`` migrates the archive state DB to the current schema.
* ``db create-postgres-database SERVER_URL NAME`` creates the database on a server (deployment bootstrap).
* ``resources import FILE`` loads external resources from CSV or JSON
  (see :mod:`ocw_operators.external_resources.file_import`).
* ``resources import-markdown [SITES_DIR]`` runs ocw-studio's ``markdown_cleanup`` conversion over course sites on
  disk (see :mod:`ocw_operators.external_resources.markdown_import`); dry run unless ``--commit``.
* ``resources write-site-files [SITES_DIR]`` writes the archive DB's link status and Wayback URLs into the sites'
  external-resource pages (see :mod:`ocw_operators.external_resources.site_files`); ``--dry-run`` only prints.

The DB is ``--db-url``, else the Airflow Connection ``--conn-id``, else ``OCW_ARCHIVE_DB_URL``, else the Airflow
Connection ``ocw_archive_db``; both options may also follow the command. Exit status: 0 done, 1 some sites had
errors (``import-markdown``, ``write-site-files``; the others were processed), 2 bad usage, bad input or an
unusable archive DB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ocw_operators.db import make_engine, migrate, session_scope
from ocw_operators.external_resources.file_import import ResourceImportError, import_records, read_records
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions, ImportOptionsError, Rule
from ocw_operators.external_resources.report import ImportReport
from ocw_operators.external_resources.resource_fields import DEFAULT_SITEMAP_DOMAIN
from ocw_operators.external_resources.site_files import write_back
from ocw_operators.external_resources.site_git import DEFAULT_AUTHOR, GitSettings

EXIT_OK, EXIT_SITE_ERRORS, EXIT_USAGE = 0, 1, 2
DEFAULT_CONN_ID = "ocw_archive_db"

MARKDOWN_EXAMPLES = """examples:
  # dry run: report what would change, touch nothing
  python -m ocw_operators resources import-markdown sites/ --rule link_to_external_resource --out external_links.csv
  # convert links and menu items of published courses, and keep a report
  python -m ocw_operators resources import-markdown sites/ --published-only --commit --out results.csv
  # force the license warning for every domain
  python -m ocw_operators resources import-markdown sites/ --add-external-license-warning --commit
"""


def archive_db_url(explicit: str | None, conn_id: str | None = None) -> str:
    if explicit:
        return explicit
    if not conn_id and os.environ.get("OCW_ARCHIVE_DB_URL"):
        return os.environ["OCW_ARCHIVE_DB_URL"]
    # Airflow is imported only when the Connection is actually needed: it costs a second at start-up.
    from ocw_operators.hooks.archive_db import ArchiveDbHook  # noqa: PLC0415

    return ArchiveDbHook(archive_db_conn_id=conn_id or DEFAULT_CONN_ID).sqlalchemy_url()


def _url_of(args: argparse.Namespace) -> str:
    return archive_db_url(args.db_url, args.conn_id)


def _db_upgrade(args: argparse.Namespace) -> int:
    migrate.upgrade(_url_of(args))
    print("archive DB is at the current schema")
    return EXIT_OK


def _create_postgres_database(args: argparse.Namespace) -> int:
    """Create the archive database on a PostgreSQL server if it is missing (deployment bootstrap)."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    if not args.name.replace("_", "").isalnum():
        print(f"error: refusing database name {args.name!r}", file=sys.stderr)
        return EXIT_USAGE
    engine = create_engine(args.server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": args.name}).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{args.name}"'))
    engine.dispose()
    print(f"database {args.name} {'exists' if exists else 'created'}")
    return EXIT_OK


def _resources_import(args: argparse.Namespace) -> int:
    try:
        records = read_records(Path(args.file))
    except (ResourceImportError, OSError, json.JSONDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    engine = make_engine(_url_of(args))
    try:
        with session_scope(engine) as session:
            summary = import_records(session, records)
    except ResourceImportError as error:  # the file contradicts the archive DB; nothing was written
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print(json.dumps({"read": len(records), "created": len(summary.created_ids), "updated": summary.updated}))
    return EXIT_OK


def cli_run_id() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"cli__{stamp}__{secrets.token_hex(4)}"


def _markdown_options(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions.build(
        sites_dir=args.sites_dir or "",
        rules=args.rules or [rule.value for rule in Rule],
        run_id=cli_run_id(),
        commit=args.commit,
        out_csv=args.out,
        published_only=args.published_only,
        add_external_license_warning=args.add_external_license_warning,
        no_external_license_warning=args.no_external_license_warning,
        sitemap_domain=args.sitemap_domain,
        site_names=args.site,
        git_author=args.git_author,
        git_push_remote=args.git_push_remote,
    )


def _resources_import_markdown(args: argparse.Namespace) -> int:
    try:
        options = _markdown_options(args)
    except ImportOptionsError as error:
        args.parser.error(str(error))
    engine = make_engine(_url_of(args))
    try:
        missing = migrate.pending_heads(engine)
        if missing:
            print(
                f"error: the archive DB lacks migrations {sorted(missing)}; "
                "upgrade it first (python -m ocw_operators db upgrade)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        try:
            report = import_sites(engine, options)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
    finally:
        engine.dispose()
    print_report(report)
    return EXIT_SITE_ERRORS if report.errors else EXIT_OK


def print_report(report: ImportReport, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    summary = report.summary()
    mode = "committed" if report.commit else "dry run (nothing saved)"
    print(f"run {report.run_id}: {mode}", file=stream)
    print(
        f"  sites processed: {summary['sites_processed']}, links converted: {summary['links_converted']}, "
        f"menu items converted: {summary['nav_items_converted']}, files written: {summary['files_rewritten']}",
        file=stream,
    )
    created = summary["resources_created"] if report.commit else summary["resources_would_create"]
    verb = "created" if report.commit else "would be created"
    loaded = summary["resources_loaded"] if report.commit else summary["resources_would_load"]
    print(
        f"  resources {verb}: {created}, references to existing resources: "
        f"{summary['references_to_existing_resources']}, existing resource pages loaded: {loaded}",
        file=stream,
    )
    for site, commit in summary["commits"].items():
        print(f"  committed {site}: {commit}", file=stream)
    for skipped in summary["sites_skipped"]:
        print(f"  skipped {skipped['site']}: {skipped['reason']}", file=stream)
    for error in summary["site_errors"]:
        print(f"  ERROR {error['site']}: {error['error']}", file=stream)
    if report.csv_path:
        print(f"  report: {report.csv_path}", file=stream)


def _database_options(*, suppress: bool) -> argparse.ArgumentParser:
    """``--db-url`` / ``--conn-id``, accepted before the command and after it (``suppress``: a later position
    only sets what it was given, so it never resets a value given earlier)."""
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db-url", default=default, help="SQLAlchemy URL of the archive DB")
    parent.add_argument(
        "--conn-id", default=default, help=f"Airflow Connection of the archive DB (default: {DEFAULT_CONN_ID})"
    )
    return parent


def _add_markdown_import(resources: argparse._SubParsersAction, database: argparse.ArgumentParser) -> None:
    parser = resources.add_parser(
        "import-markdown",
        help="convert external links and menu items of course sites into external resources",
        description=(
            "Convert external markdown links and navigation menu items of course sites into external "
            "resources (archive DB records plus resource_link shortcodes), as ocw-studio's markdown_cleanup does. "
            "Dry run unless --commit; a dry run needs --out."
        ),
        epilog=MARKDOWN_EXAMPLES,
        parents=[database, _git_options()],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _sites_dir_argument(parser)
    parser.add_argument(
        "-r",
        "--rule",
        dest="rules",
        action="append",
        choices=[rule.value for rule in Rule],
        metavar="RULE",
        help=f"rule to run (repeatable; default: both): {', '.join(Rule)}",
    )
    parser.add_argument(
        "-c",
        "--commit",
        action="store_true",
        help="save resources and references to the archive DB and rewrite the site files",
    )
    parser.add_argument("-o", "--out", metavar="FILE.csv", help="write one CSV row per link/menu item considered")
    parser.add_argument(
        "--published-only", action="store_true", help="only the sites SITES_DIR/published.txt names (needs the file)"
    )
    warning = parser.add_mutually_exclusive_group()
    warning.add_argument(
        "--add-external-license-warning",
        action="store_true",
        help="set has_external_license_warning on every new resource, whatever its domain",
    )
    warning.add_argument(
        "--no-external-license-warning", action="store_true", help="set no license warning on any new resource"
    )
    parser.add_argument(
        "--site", action="append", default=[], metavar="NAME", help="only this site (repeatable; default: every site)"
    )
    parser.add_argument(
        "--sitemap-domain",
        default=os.environ.get("OCW_SITEMAP_DOMAIN", DEFAULT_SITEMAP_DOMAIN),
        help="links to this host get no license warning (default: $OCW_SITEMAP_DOMAIN or %(default)s)",
    )
    parser.set_defaults(handler=_resources_import_markdown, parser=parser)


def _git_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--git-author",
        default=os.environ.get("OCW_SITES_GIT_AUTHOR", ""),
        metavar="'NAME <EMAIL>'",
        help=f"author of commits in sites that are git checkouts (default: $OCW_SITES_GIT_AUTHOR or {DEFAULT_AUTHOR})",
    )
    parent.add_argument(
        "--git-push-remote",
        default=os.environ.get("OCW_SITES_GIT_PUSH_REMOTE", ""),
        metavar="REMOTE",
        help="push each commit to this remote of the checkout (default: $OCW_SITES_GIT_PUSH_REMOTE; none: no push)",
    )
    return parent


def _sites_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sites_dir",
        nargs="?",
        default=os.environ.get("OCW_SITES_DIR"),
        metavar="SITES_DIR",
        help="folder holding one folder per site (default: $OCW_SITES_DIR)",
    )


def _resources_write_site_files(args: argparse.Namespace) -> int:
    if not args.sites_dir:
        args.parser.error("name the sites folder or set OCW_SITES_DIR")
    try:
        git = GitSettings.parse(args.git_author, args.git_push_remote)
    except ValueError as error:
        args.parser.error(str(error))
    engine = make_engine(_url_of(args))
    try:
        report = write_back(
            engine, Path(args.sites_dir), site_filter=args.site, exclude=args.exclude, dry_run=args.dry_run, git=git,
            context="python -m ocw_operators resources write-site-files",
        )  # fmt: skip
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()
    summary = report.summary()
    print(json.dumps({key: summary[key] for key in ("dry_run", "pages_to_change", "pages_written", "commits")}))
    for line in [*summary["changes"], *summary["pages_skipped"]]:
        print(f"  {line}")
    for site, error in summary["site_errors"].items():
        print(f"  ERROR {site}: {error}")
    return EXIT_SITE_ERRORS if report.errors else EXIT_OK


def _add_write_site_files(resources: argparse._SubParsersAction, database: argparse.ArgumentParser) -> None:
    parser = resources.add_parser(
        "write-site-files",
        parents=[database, _git_options()],
        help="write the archive DB's link status and Wayback URLs into the sites' external-resource pages",
        description=(
            "What the DAGs' write_site_files task does: each external-resource page whose status or wayback_url "
            "differs from the archive DB gets the archive's values; one git commit per site checkout."
        ),
    )
    _sites_dir_argument(parser)
    parser.add_argument("--dry-run", action="store_true", help="only print what would change")
    parser.add_argument("--site", action="append", default=[], metavar="NAME", help="only this site (repeatable)")
    parser.add_argument("--exclude", action="append", default=[], metavar="NAME", help="not this site (repeatable)")
    parser.set_defaults(handler=_resources_write_site_files, parser=parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ocw_operators",
        description="The archive state DB and external resources, from a shell.",
        epilog=(
            "The archive DB is --db-url, else the Airflow Connection --conn-id, else $OCW_ARCHIVE_DB_URL, else the "
            "Airflow Connection ocw_archive_db. Both options may also follow the command."
        ),
        parents=[_database_options(suppress=False)],
    )
    database = _database_options(suppress=True)
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="archive DB schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", parents=[database], help="migrate to the current schema").set_defaults(handler=_db_upgrade)
    create = db.add_parser("create-postgres-database", help="create the archive database if missing")
    create.add_argument("server_url", help="SQLAlchemy URL of any database on the server (e.g. .../postgres)")
    create.add_argument("name")
    create.set_defaults(handler=_create_postgres_database)
    resources = commands.add_parser("resources", help="external resources").add_subparsers(
        dest="resources_command", required=True
    )
    importer = resources.add_parser("import", parents=[database], help="load resources from CSV or JSON")
    importer.add_argument("file")
    importer.set_defaults(handler=_resources_import)
    _add_markdown_import(resources, database)
    _add_write_site_files(resources, database)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.db_url and args.conn_id:
        parser.error("give --db-url or --conn-id, not both")
    return args.handler(args)
