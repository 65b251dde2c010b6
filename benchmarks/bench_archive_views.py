"""The Archive pages at production size, on SQLite and PostgreSQL: first page time and CSV memory.

Seeds 100,000 external resources over 2,500 sites (one referencing page each, a tenth broken), 10,000 retired
courses (one in fifty flagged), 100 harvest runs, 10,000 Tivoli volumes with 1,000,000 file-log rows in 100 load
batches, and 52 link-check runs. Then, per backend:

* **first page**: each page's body as the app renders it (every query of the page plus its HTML; the user and
  auth lookups are not included), median of 5 after one warm-up, beside the baseline: the bare
  ``SELECT ... LIMIT 50`` of the page's main table by primary key, the least any page over that table can do.
  The target is under 300 ms per page.
* **CSV**: the largest tables (every problem link with its pages; the whole 1,000,000-row file log) streamed
  through the app's CSV writer, with Python's peak allocation (tracemalloc) and rows/s, beside the baseline that
  reads the rows first (``fetchall``, at most 100,000 of them: a million would take gigabytes). Streaming keeps
  memory flat: its peak does not grow with the row count.

``--quick`` seeds a twentieth of everything. ``--no-postgres`` runs SQLite only.
Run alone with ``python -m benchmarks archive_views [--quick]``.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "plugins", ROOT / "include", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from sqlalchemy import Engine, create_engine, select, text  # noqa: E402 - after the sys.path set-up

from ocw_operators.db import make_engine, migrate  # noqa: E402
from ocw_operators.db.bulk import bulk_insert, sqlite_datetime  # noqa: E402
from ocw_operators.db.engine import session_scope  # noqa: E402
from ocw_operators.db.models import (  # noqa: E402
    CourseRetirement,
    ExternalResource,
    ExternalResourceReference,
    LinkCheckRun,
    OaiHarvestRun,
    TivoliFileLog,
    TivoliLoadBatch,
    TivoliVolumeStatus,
)
from ocw_operators.web import link_health, oai, retirements, runs, tivoli  # noqa: E402
from ocw_operators.web.tables import stream_csv  # noqa: E402
from ocw_operators.web.view import View  # noqa: E402

PG_ADMIN_URL = os.environ.get("OCW_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
TARGET_FIRST_PAGE_MS = 300
FULL = {"resources": 100_000, "sites": 2_500, "courses": 10_000, "files": 1_000_000, "volumes": 10_000}
CHUNK = 20_000
# The read-everything baseline stops here: a million rows as dicts would take gigabytes of a shared machine.
FETCHALL_MAX_ROWS = 100_000
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def add_arguments(parser) -> None:
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")


def sizes(quick: bool) -> dict[str, int]:
    return {key: value // 20 for key, value in FULL.items()} if quick else dict(FULL)


def _when(engine: Engine, value: dt.datetime):
    return sqlite_datetime(value) if engine.dialect.name == "sqlite" else value


def _insert(engine: Engine, table, columns: tuple[str, ...], rows: Iterator[tuple]) -> None:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            with session_scope(engine) as session:
                bulk_insert(session, table, columns, batch)
            batch = []
    if batch:
        with session_scope(engine) as session:
            bulk_insert(session, table, columns, batch)


def seed(engine: Engine, size: dict[str, int]) -> dict[str, str]:
    """Fill an empty archive DB; returns run ids the run tabs are measured with."""
    when = _when(engine, NOW)
    statuses = ["valid"] * 8 + ["broken", "check_failed"]
    resources = size["resources"]
    _insert(
        engine,
        ExternalResource.__table__,
        (
            "id",
            "content_uuid",
            "site_name",
            "url",
            "url_sha256",
            "status",
            "last_checked",
            "last_check_run",
            "wayback_status",
            "external_url_response_code",
            "check_error",
            "title",
        ),
        (
            (
                n + 1,
                str(uuid.UUID(int=n)),
                f"site-{n % size['sites']:05d}",
                f"http://127.0.0.1:9/{n}",
                f"{n:064x}",
                "unchecked" if n % 97 == 0 else statuses[n % 10],
                when,
                f"check-{n % 52}",
                ("", "success", "pending", "error")[n % 4],
                404 if n % 10 == 8 else 200,
                "",
                "",
            )
            for n in range(resources)
        ),
    )
    _insert(
        engine,
        ExternalResourceReference.__table__,
        ("resource_id", "site_name", "source_path", "source_uid", "source_kind"),
        ((n + 1, f"site-{n % size['sites']:05d}", f"content/pages/page-{n}.md", "", "page") for n in range(resources)),
    )
    _insert(
        engine,
        LinkCheckRun.__table__,
        ("dag_id", "run_id", "finished_at", "checked", "valid", "broken", "check_failed", "broken_total"),
        (
            (
                "external_resource_check",
                f"check-{n}",
                _when(engine, NOW - dt.timedelta(weeks=52 - n)),
                resources,
                resources * 8 // 10,
                resources // 10,
                resources // 10,
                resources // 10 + n,
            )
            for n in range(52)
        ),
    )
    _insert(
        engine,
        CourseRetirement.__table__,
        (
            "course_id",
            "state",
            "dspace_handle",
            "deposited_at",
            "zip_path",
            "zip_size",
            "zip_md5",
            "cms_confirmed",
            "dspace_flag",
            "retirement_run_id",
            "dspace_flag_run_id",
            "title",
        ),
        (
            (
                f"dept-{n % 40}/course-{n:06d}",
                "done",
                f"1721.1/{100000 + n}",
                when,
                f"/retired/course-{n}.zip",
                10_000 + n,
                f"{n:032x}",
                True,
                "withdrawn" if n % 50 == 0 else None,
                f"retire-{n % 100}",
                "harvest-1" if n % 50 == 0 else "",
                f"Course {n}",
            )
            for n in range(size["courses"])
        ),
    )
    _insert(
        engine,
        OaiHarvestRun.__table__,
        ("endpoint", "set_spec", "metadata_prefix", "verb", "mode", "status", "records", "airflow_run_id"),
        (
            ("http://127.0.0.1:9/oai", "col_1", "oai_dc", "ListRecords", "incremental", "complete", 100, f"harvest-{n}")
            for n in range(100)
        ),
    )
    _insert(
        engine,
        TivoliLoadBatch.__table__,
        ("id", "run_key", "description", "staging_root", "status", "files_archived", "started_at"),
        (
            (n + 1, f"tivoli_nightly_load/load-{n}", "nightly", "/staging", "succeeded", 10_000, when)
            for n in range(100)
        ),
    )
    volumes, files = size["volumes"], size["files"]
    _insert(
        engine,
        TivoliVolumeStatus.__table__,
        ("bibid", "vid", "status", "files_staged", "files_archived", "bytes_archived"),
        ((f"UF{n:08d}", "00001", "archived_to_tivoli", 100, 100, 100 * 4096) for n in range(volumes)),
    )
    per_volume = max(files // volumes, 1)
    _insert(
        engine,
        TivoliFileLog.__table__,
        (
            "bibid",
            "vid",
            "folder",
            "file_name",
            "original_name",
            "size",
            "last_write_date",
            "archive_date",
            "sha1",
            "state",
            "source_path",
            "staging_path",
            "prep_run",
            "prep_run_id",
            "load_batch_id",
        ),
        (
            (
                f"UF{n // per_volume:08d}",
                "00001",
                "",
                f"{n % per_volume:05d}.tif",
                f"{n % per_volume:05d}.tif",
                4096,
                when,
                when,
                f"{n:040x}",
                "archived",
                f"v/{n}.tif",
                f"s/{n}.tif",
                f"p/prep-{n % 365}/t/try-1",
                f"prep-{n % 365}",
                n % 100 + 1,
            )
            for n in range(files)
        ),
    )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return {"check": "check-51", "load": "load-7", "retire": "retire-3", "harvest": "harvest-1"}


def _view(engine: Engine, params: dict[str, str] | None = None) -> View:
    return View(engine=engine, params=params or {}, base="/archive", ui="", user=None)


def _median_ms(action: Callable[[], Any], repeat: int = 5) -> float:
    action()  # warm-up: the first query compiles statements and fills the page cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def _bare(engine: Engine, model) -> Callable[[], Any]:
    key = next(iter(model.__table__.primary_key.columns))

    def fetch() -> None:
        with engine.connect() as connection:
            connection.execute(select(model.__table__).order_by(key).limit(50)).all()

    return fetch


def measure_pages(engine: Engine, ids: dict[str, str]) -> list[dict[str, Any]]:
    pages = [
        ("links", lambda: link_health.render_body(_view(engine)), ExternalResource),
        (
            "links?status=broken&site=…",
            lambda: link_health.render_body(
                _view(engine, {"status": "broken", "site": "site-00042", "problems.sort": "-last_checked"})
            ),
            ExternalResource,
        ),
        ("retirements", lambda: retirements.render_body(_view(engine)), CourseRetirement),
        (
            "retirements?flag=withdrawn",
            lambda: retirements.render_body(_view(engine, {"flag": "withdrawn"})),
            CourseRetirement,
        ),
        ("oai", lambda: oai.render_body(_view(engine)), OaiHarvestRun),
        ("tivoli", lambda: tivoli.render_body(_view(engine)), TivoliVolumeStatus),
        ("tivoli?batch=8", lambda: tivoli.render_body(_view(engine, {"batch": "8"})), TivoliFileLog),
        (
            "run tab: link check",
            lambda: runs.render_body(_view(engine), "external_resource_check", ids["check"]),
            ExternalResource,
        ),
        (
            "run tab: retirement",
            lambda: runs.render_body(_view(engine), "ocw_course_retirement", ids["retire"]),
            CourseRetirement,
        ),
        (
            "run tab: harvest",
            lambda: runs.render_body(_view(engine), "dspace_oai_harvest", ids["harvest"]),
            OaiHarvestRun,
        ),
        (
            "run tab: nightly load",
            lambda: runs.render_body(_view(engine), "tivoli_nightly_load", ids["load"]),
            TivoliFileLog,
        ),
        ("run tab: prep", lambda: runs.render_body(_view(engine), "tivoli_dropbox_prep", "prep-11"), TivoliFileLog),
    ]
    results = []
    for name, render, model in pages:
        page_ms, baseline_ms = _median_ms(render), _median_ms(_bare(engine, model))
        results.append(
            {
                "page": name,
                "first_page_ms": page_ms,
                "baseline_ms": baseline_ms,
                "ratio": round(page_ms / baseline_ms, 1) if baseline_ms else None,
                "meets_target": page_ms < TARGET_FIRST_PAGE_MS,
            }
        )
    return results


def _peak(action: Callable[[], int]) -> tuple[int, float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        rows = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, time.perf_counter() - started, peak / 2**20


def measure_csv(engine: Engine) -> list[dict[str, Any]]:
    view = _view(engine)
    tables = [
        ("links: problems", link_health.tables(view)["problems"], {}),
        ("tivoli: file log", tivoli.tables(view)["files"], {}),
    ]
    results = []
    for name, table, filters in tables:

        def streamed(table=table, filters=filters) -> int:
            return sum(chunk.count("\n") for chunk in stream_csv(engine, table, filters, None)) - 1

        def read_all_first(table=table, filters=filters) -> int:
            statement = table.ordered(filters, None).limit(FETCHALL_MAX_ROWS)
            with engine.connect() as connection:
                rows = [dict(row._mapping) for row in connection.execute(statement)]
            return len(rows)

        rows, seconds, peak = _peak(streamed)
        base_rows, base_seconds, base_peak = _peak(read_all_first)
        results.append(
            {
                "table": name,
                "rows": rows,
                "streamed_rows_per_s": round(rows / seconds),
                "streamed_peak_mib": round(peak, 1),
                "fetchall_rows": base_rows,
                "fetchall_peak_mib": round(base_peak, 1),
                "fetchall_s": round(base_seconds, 1),
            }
        )
    return results


@contextmanager
def databases(use_postgres: bool) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-archive-views-") as scratch:
        found = [("sqlite", f"sqlite:///{Path(scratch) / 'archive.db'}")]
        name = None
        if use_postgres:
            name = f"bench_archive_views_{os.getpid()}"
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            found.append(("postgresql", PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"))
        try:
            yield found
        finally:
            if name:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def run(quick: bool = False, no_postgres: bool = False, **_options: Any) -> dict[str, Any]:
    # No Airflow metadata DB here: the page's one Variable comes from the environment (its registry default).
    os.environ.setdefault("AIRFLOW_VAR_WAYBACK_SUBMISSION_INTERVAL_DAYS", "30")
    size = sizes(quick)
    results: dict[str, Any] = {"sizes": size, "target_first_page_ms": TARGET_FIRST_PAGE_MS}
    slowest: dict[str, float] = {}
    with databases(not no_postgres) as found:
        for backend, url in found:
            migrate.upgrade(url)
            engine = make_engine(url)
            started = time.perf_counter()
            ids = seed(engine, size)
            seeded = time.perf_counter() - started
            pages = measure_pages(engine, ids)
            csv_tables = measure_csv(engine)
            engine.dispose()
            slowest[backend] = max(page["first_page_ms"] for page in pages)
            results[backend] = {"seed_s": round(seeded, 1), "pages": pages, "csv": csv_tables}
    results["meets_target"] = all(value < TARGET_FIRST_PAGE_MS for value in slowest.values())
    results["summary"] = (
        "archive_views: slowest first page "
        + ", ".join(f"{backend} {value:.0f} ms" for backend, value in slowest.items())
        + f" (target < {TARGET_FIRST_PAGE_MS} ms)"
        + ("" if results["meets_target"] else " NOT MET")
    )
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv[1:], no_postgres="--no-postgres" in sys.argv[1:]), indent=2))
