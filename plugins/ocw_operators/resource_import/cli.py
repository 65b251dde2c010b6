"""``python -m ocw_operators.resource_import``: the markdown_cleanup conversion from a shell.

Flags mirror ocw-studio's ``markdown_cleanup`` command. Exit status: 0 done, 1 some sites had errors (the
others were processed), 2 bad usage or an unusable archive DB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy import Engine

from ocw_operators.db.engine import make_engine
from ocw_operators.db.migrate import pending_heads
from ocw_operators.resource_import.importer import ImportOptions, ImportOptionsError, Rule, import_sites
from ocw_operators.resource_import.report import ImportReport
from ocw_operators.resource_import.resource_fields import DEFAULT_SITEMAP_DOMAIN

EXIT_OK, EXIT_SITE_ERRORS, EXIT_USAGE = 0, 1, 2
DEFAULT_CONN_ID = "ocw_archive_db"

EXAMPLES = """examples:
  # dry run: report what would change, touch nothing
  python -m ocw_operators.resource_import link_to_external_resource --out external_links.csv
  # convert links and menu items of published courses, and keep a report
  python -m ocw_operators.resource_import link_to_external_resource nav_item_to_external_resource \\
      --published-only --commit --out results.csv
  # force the license warning for every domain
  python -m ocw_operators.resource_import link_to_external_resource --add-external-license-warning --commit
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ocw_operators.resource_import",
        description=(
            "Convert external markdown links and navigation menu items of Hugo course sites into external "
            "resources (archive DB records plus resource_link shortcodes). Dry run unless --commit; a dry run "
            "needs --out."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "rules",
        nargs="+",
        choices=[rule.value for rule in Rule],
        metavar="RULE",
        help=f"rule(s) to run: {', '.join(Rule)}",
    )
    parser.add_argument(
        "-c",
        "--commit",
        action="store_true",
        help="save resources and references to the archive DB and rewrite the site files",
    )
    parser.add_argument("-o", "--out", metavar="FILE.csv", help="write one CSV row per link/menu item considered")
    parser.add_argument("--published-only", action="store_true", help="only sites whose metadata says published")
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
        "--sites-dir",
        default=os.environ.get("OCW_SITES_DIR"),
        help="folder holding one folder per site (default: $OCW_SITES_DIR)",
    )
    parser.add_argument(
        "--site", action="append", default=[], metavar="NAME", help="only this site (repeatable; default: every site)"
    )
    parser.add_argument(
        "--sitemap-domain",
        default=os.environ.get("OCW_SITEMAP_DOMAIN", DEFAULT_SITEMAP_DOMAIN),
        help="links to this host get no license warning (default: $OCW_SITEMAP_DOMAIN or %(default)s)",
    )
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--db-url", help="SQLAlchemy URL of the archive DB (default: the Airflow Connection)")
    database.add_argument(
        "--conn-id",
        default=DEFAULT_CONN_ID,
        help="Airflow Connection of the archive DB when --db-url is not given (default: %(default)s)",
    )
    return parser


def cli_run_id() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"cli__{stamp}__{secrets.token_hex(4)}"


def _engine(args: argparse.Namespace) -> Engine:
    if args.db_url:
        return make_engine(args.db_url)
    # Only now pay for importing Airflow: the Connection comes from AIRFLOW_CONN_* or the metadata DB.
    from ocw_operators.hooks.archive_db import ArchiveDbHook  # noqa: PLC0415

    return ArchiveDbHook(archive_db_conn_id=args.conn_id).get_conn()


def _check_schema(engine: Engine) -> str | None:
    missing = pending_heads(engine)
    if missing:
        return f"the archive DB lacks migrations {sorted(missing)}; upgrade it first (ocw_operators.db.migrate)"
    return None


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
    print(
        f"  resources {verb}: {created}, references to existing resources: "
        f"{summary['references_to_existing_resources']}",
        file=stream,
    )
    for skipped in summary["sites_skipped"]:
        print(f"  skipped {skipped['site']}: {skipped['reason']}", file=stream)
    for error in summary["site_errors"]:
        print(f"  ERROR {error['site']}: {error['error']}", file=stream)
    if report.csv_path:
        print(f"  report: {report.csv_path}", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = ImportOptions.build(
            sites_dir=args.sites_dir or "",
            rules=args.rules,
            run_id=cli_run_id(),
            commit=args.commit,
            out_csv=args.out,
            published_only=args.published_only,
            add_external_license_warning=args.add_external_license_warning,
            no_external_license_warning=args.no_external_license_warning,
            sitemap_domain=args.sitemap_domain,
            site_names=args.site,
        )
    except ImportOptionsError as error:
        parser.error(str(error))
    engine = _engine(args)
    try:
        problem = _check_schema(engine)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
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
