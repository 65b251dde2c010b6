"""Benchmark: the archive-DB rate limiter against a per-worker limiter, with real processes and the SPN2 sandbox.

Baseline: each worker limits itself (what a Celery task ``rate_limit`` does: it is enforced per worker), so
W workers send W times the configured rate. Candidate: every worker takes slots from one ``rate_limit_bucket``
row. Both run side by side in the same invocation against the same sandbox, which timestamps every arrival.

Reported per database: the server-observed rate divided by the configured rate (1.0 is exact; above 1 breaks
the limit), and the cost of one ``acquire()`` when the bucket never makes anyone wait, next to an in-process
limiter's cost.

    python -m benchmarks wayback [--workers 4] [--requests 12] [--rate 10] [--no-postgres]

Results go to stdout and ``benchmarks/results/wayback.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "plugins", ROOT / "include"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

ACCESS_KEY, SECRET = "bench-access-key", "bench-secret-key"
PG_ADMIN_URL = os.environ.get("OCW_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _worker(spec: dict) -> int:
    import requests

    from ocw_operators.clients.wayback_spn2 import Spn2Client, Spn2Settings
    from ocw_operators.db import make_engine
    from ocw_operators.ratelimit import DbRateLimiter

    engine = make_engine(spec["db_url"])
    limiter = DbRateLimiter(engine, spec["bucket"], spec["rate"])
    time.sleep(max(0.0, spec["start_at"] - time.time()))
    settings = Spn2Settings(base_url=spec["base_url"], access_key=ACCESS_KEY, secret=SECRET, timeout=10)
    with Spn2Client(settings, requests.Session()) as client:
        for number in range(spec["requests"]):
            limiter.acquire()
            client.submit_capture(f"https://example.org/{spec['worker']}/{number}")
    engine.dispose()
    return spec["requests"]


def _observed_rate(arrivals: list[float]) -> float:
    arrivals = sorted(arrivals)
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


def _run_workers(db_url: str, *, shared: bool, workers: int, requests: int, rate: float) -> float:
    from ocw_sandbox.runtime import SandboxRuntime
    from ocw_sandbox.wayback import make_wayback_app, wayback_state

    with SandboxRuntime() as runtime:
        app = make_wayback_app(ACCESS_KEY, SECRET, capture_seconds=0)
        port = runtime.serve(app)
        start_at = time.time() + 3.0  # spawned interpreters import first
        run_id = uuid.uuid4().hex[:8]
        specs = [
            {
                "db_url": db_url,
                "bucket": f"bench-{run_id}" if shared else f"bench-{run_id}-{index}",
                "rate": rate,
                "requests": requests,
                "base_url": f"http://127.0.0.1:{port}",
                "start_at": start_at,
                "worker": f"{run_id}-{index}",
            }
            for index in range(workers)
        ]
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            sent = pool.map(_worker, specs, chunksize=1)
        assert sum(sent) == workers * requests
        arrivals = [entry["time"] for entry in wayback_state(app).requests]
    return _observed_rate(arrivals)


class _InProcessLimiter:
    """Baseline cost: the same slot arithmetic under a thread lock, no database."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot_at = 0.0
        self.lock = threading.Lock()

    def reserve(self) -> float:
        with self.lock:
            slot = max(time.time(), self.next_slot_at)
            self.next_slot_at = slot + self.interval
            return slot


def _acquire_cost_us(reserve, count: int) -> float:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        reserve()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1e6


def _databases(use_postgres: bool):
    from ocw_operators.db import migrate

    directory = tempfile.mkdtemp(prefix="bench-ratelimit-")
    sqlite_url = f"sqlite:///{directory}/archive.db"
    migrate.upgrade(sqlite_url)
    yield "sqlite", sqlite_url
    if not use_postgres:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ocw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        print(f"PostgreSQL skipped: {error.__class__.__name__}", file=sys.stderr)
        return
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield "postgresql", url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=12, help="requests per worker")
    parser.add_argument("--rate", type=float, default=10.0, help="configured requests per second")
    parser.add_argument("--acquires", type=int, default=300, help="acquire() calls for the cost measurement")
    parser.add_argument("--no-postgres", action="store_true")


def run(quick: bool = False, **options) -> dict:
    """The ``python -m benchmarks`` entry point (quick: fewer requests)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    for key, value in options.items():
        setattr(args, key, value)
    if quick:
        args.requests, args.acquires = min(args.requests, 6), min(args.acquires, 100)
    return measure(args)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return measure(parser.parse_args(argv))


def measure(args: argparse.Namespace) -> dict:

    from ocw_operators.db import make_engine
    from ocw_operators.ratelimit import DbRateLimiter

    results: dict = {"workers": args.workers, "requests_per_worker": args.requests, "configured_rate": args.rate}
    baseline_cost = _acquire_cost_us(_InProcessLimiter(1e9).reserve, args.acquires)
    for name, url in _databases(not args.no_postgres):
        per_worker = _run_workers(url, shared=False, workers=args.workers, requests=args.requests, rate=args.rate)
        shared = _run_workers(url, shared=True, workers=args.workers, requests=args.requests, rate=args.rate)
        engine = make_engine(url)
        limiter = DbRateLimiter(engine, f"bench-cost-{uuid.uuid4().hex[:6]}", 1e9)
        limiter.reserve()  # creates the bucket row outside the measurement
        db_cost = _acquire_cost_us(limiter.reserve, args.acquires)
        engine.dispose()
        results[name] = {
            "baseline_per_worker_observed_over_configured": round(per_worker / args.rate, 3),
            "shared_bucket_observed_over_configured": round(shared / args.rate, 3),
            "per_worker_over_shared": round(per_worker / shared, 2),
            "acquire_median_us": round(db_cost, 1),
            "in_process_acquire_median_us": round(baseline_cost, 2),
            "acquire_cost_over_in_process": round(db_cost / baseline_cost, 1),
            # The production slot interval is 1 / 0.11 s: how much of it one reservation costs.
            "acquire_cost_over_slot_interval_at_0_11_per_s": f"{db_cost / 1e6 * 0.11:.1e}",
        }
    output = ROOT / "benchmarks" / "results" / "wayback.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
