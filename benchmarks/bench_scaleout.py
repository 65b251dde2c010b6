"""Scale-out: the weekly link check as a DAG on two Celery workers, beside the checker alone on the same URLs.

The link farm runs in its own process (``python -m ocw_sandbox linkfarm``, 200 hosts, 100 ms latency) with the
link-check benchmark's URL mix (1% ``/hang``). In the same run:

(a) **checker alone**: ``ocw_operators.linkcheck.checker.check_links`` over every URL in this process, with the
    settings the DAG uses (per-URL timeout T, per-host cap 4, 100 in flight);
(b) **Celery topology**: the same URLs imported into the archive DB (PostgreSQL) with the project's CLI, then
    ``external_resource_check`` triggered through the REST API on the local cluster of the integration tier
    (api-server, scheduler, dag-processor, triggerer, two ``airflow celery worker`` processes, Redis broker).
    Timed from the trigger to the run's completion as the API reports it; cluster start-up is not counted.

Reported: both wall times and their ratio (target: the DAG within 2x of the checker alone), how the mapped batches
spread over the workers, whether the statuses stored by the DAG equal the checker's own, and the most requests the
farm saw in flight per host (each batch task keeps its own per-host cap, so concurrent batches add up).

Run alone: ``python benchmarks/bench_scaleout.py [--quick] [--urls N] [--timeout T]``; or ``make bench``.
Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (``OCW_TEST_PG_URL``, ``OCW_BENCH_REDIS_SERVER``).
"""

from __future__ import annotations

import argparse
import bisect
import collections
import csv
import datetime as dt
import itertools
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "plugins", ROOT / "include", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.bench_linkcheck import FarmStats, Workload, build_workload, linkfarm_process  # noqa: E402
from ocw_operators.linkcheck.checker import CheckSettings, check_links  # noqa: E402
from tests.integration.cluster import ClusterConfig, LocalCeleryCluster  # noqa: E402

FULL_URLS = 10_000
QUICK_URLS = 1_000
HOSTS = 200
LATENCY_MS = 100.0
DEFAULT_TIMEOUT_S = 3.0
TARGET_RATIO = 2.0
DAG_ID = "external_resource_check"
PG_ADMIN_URL = os.environ.get("OCW_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = os.environ.get("OCW_BENCH_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_DB = 13  # not the tests' databases (14: integration cluster, 15: Redis tests)
# Deployment tuning for the run: tasks each worker runs at once, and the link_check pool that admits batches.
DEFAULT_WORKER_CONCURRENCY = 8
DEFAULT_LINK_CHECK_SLOTS = 16
RUN_TIMEOUT_S = 1800.0
# Wayback part: wayback_submit over the valid resources of a few sites, against the SPN2 sandbox (in this process).
WAYBACK_DAG_ID = "wayback_submit"
WAYBACK_ACCESS_KEY = "bench-access-key"
WAYBACK_SECRET = "bench-secret-key"
DEFAULT_WAYBACK_RATE = 10.0  # requests/s: fast enough for a short run, slow enough that a breach would show
WAYBACK_POOL_SLOTS = 4  # four batches submitting at once, spread over both workers
WAYBACK_SITES = {False: 2, True: 5}
# Slots are reserved in the archive DB, then each task sleeps until its slot and sends: an arrival trails its slot
# by the wake-up and HTTP connect time, more on a loaded 2-core machine (60 ms seen). One slot at 10 req/s.
JITTER_ALLOWANCE_S = 0.1  # quick -> sites; each site holds 1/50 of the URLs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--urls", type=int, default=None, help=f"URLs to check (default {FULL_URLS}, quick {QUICK_URLS})"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="per-URL timeout T for both sides (default 3 s)"
    )
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=DEFAULT_WORKER_CONCURRENCY,
        help=f"tasks per Celery worker (default {DEFAULT_WORKER_CONCURRENCY})",
    )
    parser.add_argument(
        "--link-check-slots",
        type=int,
        default=DEFAULT_LINK_CHECK_SLOTS,
        help=f"slots of the link_check pool on the cluster (default {DEFAULT_LINK_CHECK_SLOTS})",
    )
    parser.add_argument(
        "--max-active-tasks",
        type=int,
        default=None,
        help="[core] max_active_tasks_per_dag on the cluster (Airflow's default 16 caps batches in flight per run)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="LINK_CHECK_BATCH_SIZE on the cluster (default: the DAG's 100, ocw-studio's size)",
    )
    parser.add_argument(
        "--wayback-rate",
        type=float,
        default=DEFAULT_WAYBACK_RATE,
        help=f"WAYBACK_RATE_LIMIT_PER_SECOND on the cluster (default {DEFAULT_WAYBACK_RATE:g})",
    )


def _timed(function, *args) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_resources_csv(path: Path, urls: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["site_name", "site_short_id", "url"])
        for index, url in enumerate(urls):
            writer.writerow([f"Course {index % 50}", f"course-{index % 50}", url])
    return path


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def stored_outcomes(cluster: LocalCeleryCluster, urls: list[str]) -> list[tuple[str, int | None]]:
    """The status and response code the DAG stored for each URL, in ``urls`` order."""
    from sqlalchemy import create_engine, select

    from ocw_operators.db.engine import session_scope
    from ocw_operators.db.models import ExternalResource

    engine = create_engine(cluster.archive_db_url)
    try:
        with session_scope(engine) as session:
            rows = session.execute(
                select(ExternalResource.url, ExternalResource.status, ExternalResource.external_url_response_code)
            ).all()
    finally:
        engine.dispose()
    by_url = {url: (status, code) for url, status, code in rows}
    return [by_url.get(url, ("missing", None)) for url in urls]


def _median(values: list[float]) -> float | None:
    return round(sorted(values)[len(values) // 2], 2) if values else None


def batches_by_worker(instances: list[dict]) -> dict[str, Any]:
    """Where the mapped batches ran, how long they took, and how long each waited between queue and start."""
    checks = [ti for ti in instances if ti["task_id"] == "check_batch"]
    durations = [ti["duration"] for ti in checks if ti.get("duration") is not None]
    waits = [
        (_parse_time(ti["start_date"]) - _parse_time(ti["queued_when"])).total_seconds()
        for ti in checks
        if ti.get("start_date") and ti.get("queued_when")
    ]
    return {
        "mapped_batches": len(checks),
        "per_worker": dict(collections.Counter(ti["hostname"] for ti in checks).most_common()),
        "states": dict(collections.Counter(ti["state"] for ti in instances).most_common()),
        "batch_duration_s": {
            "min": round(min(durations), 2) if durations else None,
            "median": _median(durations),
            "max": round(max(durations), 2) if durations else None,
            "sum": round(sum(durations), 1),
        },
        "queued_to_started_s": {"median": _median(waits), "max": round(max(waits), 2) if waits else None},
    }


def max_ahead_of_limit(times: list[float], rate: float) -> float:
    """How far (s) the requests ever ran ahead of the limit: max over i < j of (j - i) / rate - (t_j - t_i).

    A global limit of ``rate`` means request j comes at least (j - i) / rate after request i; a positive value is
    the largest shortfall (network and scheduling jitter between a reserved slot and the arrival add a little).
    """
    ahead, lowest = 0.0, float("inf")
    for index, moment in enumerate(times):
        schedule = index / rate - moment
        ahead = max(ahead, schedule - lowest)
        lowest = min(lowest, schedule)
    return ahead


def _busiest_window(times: list[float], seconds: float) -> int:
    """Most requests inside any half-open window ``[t, t + seconds)`` starting at a request (``times`` sorted)."""
    return max(bisect.bisect_left(times, start + seconds, lo=index) - index for index, start in enumerate(times))


def wayback_rate_figures(arrivals: list[float], rate: float) -> dict[str, Any]:
    """What the SPN2 sandbox saw: request count, average rate, closest gap, how far ahead of the limit it ran."""
    times = sorted(arrivals)
    if len(times) < 2:
        return {"requests": len(times), "limit_per_s": rate, "limit_held": None}
    span = times[-1] - times[0]
    ahead = max_ahead_of_limit(times, rate)
    return {
        "requests": len(times),
        "span_s": round(span, 2),
        "average_rate_per_s": round((len(times) - 1) / span, 3) if span else None,
        "limit_per_s": rate,
        "min_gap_s": round(min(b - a for a, b in itertools.pairwise(times)), 4),
        "expected_gap_s": round(1 / rate, 4),
        "max_requests_in_any_1s": _busiest_window(times, 1.0),
        "max_requests_in_any_10s": _busiest_window(times, 10.0),
        "max_ahead_of_limit_s": round(ahead, 4),
        "jitter_allowance_s": JITTER_ALLOWANCE_S,
        "limit_held": ahead <= JITTER_ALLOWANCE_S,
    }


def _overlapping_workers(instances: list[dict]) -> bool:
    """Some submit task on one worker ran while a submit task on another worker was running."""
    spans = [
        (ti["hostname"], _parse_time(ti["start_date"]), _parse_time(ti["end_date"]))
        for ti in instances
        if ti["task_id"] == "submit_batch" and ti.get("start_date") and ti.get("end_date")
    ]
    return any(
        host_a != host_b and start_a < end_b and start_b < end_a
        for host_a, start_a, end_a in spans
        for host_b, start_b, end_b in spans
    )


def measure_wayback(cluster: LocalCeleryCluster, wayback_url: str, sites: list[str], rate: float) -> dict[str, Any]:
    """Submit the valid resources of ``sites`` with wayback_submit; check the global rate from the server's side."""
    import requests

    cluster.wait_for_dag(WAYBACK_DAG_ID)
    cluster.unpause(WAYBACK_DAG_ID)
    print(f"  wayback_submit for sites {sites} at {rate:g} req/s", flush=True)
    triggered = time.perf_counter()
    run_id = cluster.trigger(WAYBACK_DAG_ID, conf={"site_filter": sites})
    run = cluster.wait_for_run(WAYBACK_DAG_ID, run_id, RUN_TIMEOUT_S)
    wall_s = time.perf_counter() - triggered
    log = requests.get(f"{wayback_url}/_sandbox/requests", timeout=30).json()
    instances = cluster.task_instances(WAYBACK_DAG_ID, run_id)
    submits = [ti for ti in instances if ti["task_id"] == "submit_batch"]
    return {
        "state": run["state"],
        "wall_s": round(wall_s, 2),
        "sites": sites,
        "pool_slots": WAYBACK_POOL_SLOTS,
        "submit_batches_per_worker": dict(collections.Counter(ti["hostname"] for ti in submits).most_common()),
        "workers_submitted_concurrently": _overlapping_workers(instances),
        "outcomes": dict(collections.Counter(str(entry["outcome"]) for entry in log).most_common()),
        "server_observed": wayback_rate_figures([entry["time"] for entry in log], rate),
    }


def run_on_cluster(
    workload: Workload,
    stats: FarmStats,
    wayback_url: str,
    *,
    quick: bool,
    timeout_s: float,
    worker_concurrency: int,
    link_check_slots: int,
    max_active_tasks: int | None,
    wayback_rate: float,
    batch_size: int | None = None,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ocw-bench-scaleout-"))
    config = ClusterConfig(
        workers=2,
        worker_concurrency=worker_concurrency,
        pg_admin_url=PG_ADMIN_URL,
        redis_server=REDIS_SERVER,
        redis_db=REDIS_DB,
        variables={
            "LINK_CHECK_TIMEOUT_SECONDS": str(timeout_s),
            "ENABLE_WAYBACK_TASKS": "true",
            "WAYBACK_RATE_LIMIT_PER_SECOND": str(wayback_rate),
            **({"LINK_CHECK_BATCH_SIZE": str(batch_size)} if batch_size else {}),
        },
        connections={
            "wayback_default": {
                "conn_type": "wayback_spn2",
                "host": wayback_url,
                "login": WAYBACK_ACCESS_KEY,
                "password": WAYBACK_SECRET,
                "extra": {"timeout": 30},
            }
        },
        pool_slots={"link_check": link_check_slots, "wayback_spn2": WAYBACK_POOL_SLOTS},
        airflow_settings=(
            {"AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max_active_tasks)} if max_active_tasks else {}
        ),
    )
    started = time.perf_counter()
    try:
        with LocalCeleryCluster(config, workdir) as cluster:
            startup_s = time.perf_counter() - started
            print(f"  cluster up in {startup_s:.0f} s; importing {len(workload.urls)} resources", flush=True)
            imported, import_s = _timed(
                cluster.ocw_operators, "resources", "import", str(write_resources_csv(workdir / "r.csv", workload.urls))
            )
            cluster.wait_for_dag(DAG_ID)
            cluster.unpause(DAG_ID)
            stats.reset()
            print("  triggering the weekly link check", flush=True)
            cpu_before = cluster.cpu_seconds()
            triggered = time.perf_counter()
            run_id = cluster.trigger(DAG_ID)
            run = cluster.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT_S)
            wall_s = time.perf_counter() - triggered
            cpu_after = cluster.cpu_seconds()
            farm = stats.read()
            instances = cluster.task_instances(DAG_ID, run_id)
            outcomes = stored_outcomes(cluster, workload.urls)
            sites = [f"course-{index}" for index in range(WAYBACK_SITES[quick])]
            wayback = measure_wayback(cluster, wayback_url, sites, wayback_rate)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    begin, end = _parse_time(run.get("start_date")), _parse_time(run.get("end_date"))
    return {
        "state": run["state"],
        "wall_s": round(wall_s, 2),
        "run_duration_s": round((end - begin).total_seconds(), 2) if begin and end else None,
        "startup_s_not_counted": round(startup_s, 1),
        "import_s_not_counted": round(import_s, 1),
        "import": json.loads(imported.stdout.strip().splitlines()[-1]),
        "workers": 2,
        "worker_concurrency": worker_concurrency,
        "link_check_pool_slots": link_check_slots,
        "link_check_batch_size": batch_size or 100,
        "max_active_tasks_per_dag": max_active_tasks or 16,
        "tasks": batches_by_worker(instances),
        "cpu_s_during_run": {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1) for name in cpu_after},
        "farm": farm,
        "outcomes": outcomes,
        "wayback": wayback,
    }


def run(
    quick: bool,
    *,
    urls: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    worker_concurrency: int = DEFAULT_WORKER_CONCURRENCY,
    link_check_slots: int = DEFAULT_LINK_CHECK_SLOTS,
    max_active_tasks: int | None = None,
    wayback_rate: float = DEFAULT_WAYBACK_RATE,
    batch_size: int | None = None,
) -> dict[str, Any]:
    from ocw_sandbox.runtime import SandboxRuntime
    from ocw_sandbox.wayback import make_wayback_app

    count = urls or (QUICK_URLS if quick else FULL_URLS)
    # Exactly what CheckExternalResourcesOperator builds from the Variables the cluster gets.
    settings = CheckSettings(total_timeout_s=timeout)
    with linkfarm_process(HOSTS, LATENCY_MS) as ports, SandboxRuntime() as sandbox:
        wayback_port = sandbox.serve(make_wayback_app(WAYBACK_ACCESS_KEY, WAYBACK_SECRET, capture_seconds=0.5))
        workload = build_workload(ports, count)
        stats = FarmStats(ports[0])
        print(f"  farm up on {len(ports)} ports; {count} URLs with the checker alone", flush=True)
        stats.reset()
        cpu_before = _own_cpu_seconds()
        alone, alone_s = _timed(check_links, list(enumerate(workload.urls)), settings)
        alone_cpu_s = _own_cpu_seconds() - cpu_before
        alone_farm = stats.read()
        print(f"  checker alone: {alone_s:.1f} s; starting the Celery cluster", flush=True)
        cluster = run_on_cluster(
            workload,
            stats,
            f"http://127.0.0.1:{wayback_port}",
            quick=quick,
            timeout_s=timeout,
            worker_concurrency=worker_concurrency,
            link_check_slots=link_check_slots,
            max_active_tasks=max_active_tasks,
            wayback_rate=wayback_rate,
            batch_size=batch_size,
        )
    alone_outcomes = [(result.status.value, result.response_code) for result in alone]
    dag_outcomes = cluster.pop("outcomes")
    differences = [
        {"url": url, "checker_alone": list(ours), "dag": list(theirs)}
        for url, ours, theirs in zip(workload.urls, alone_outcomes, dag_outcomes, strict=True)
        if ours != theirs
    ]
    ratio = cluster["wall_s"] / alone_s
    cluster_cpu_s = sum(cluster["cpu_s_during_run"].values())
    wayback = cluster.pop("wayback")
    observed = wayback["server_observed"]
    return {
        "urls": count,
        "hosts": len(ports),
        "latency_ms": LATENCY_MS,
        "timeout_s_per_url": timeout,
        "mix": workload.mix,
        "checker_alone": {
            "wall_s": round(alone_s, 2),
            "urls_per_s": round(count / alone_s, 1),
            "cpu_s": round(alone_cpu_s, 1),
            "per_host_limit": settings.per_host_limit,
            "max_concurrency": settings.max_concurrency,
            "farm": alone_farm,
        },
        "celery_dag": cluster,
        "ratio_dag_to_checker_alone": round(ratio, 2),
        "cpu_ratio_dag_to_checker_alone": round(cluster_cpu_s / alone_cpu_s, 2) if alone_cpu_s else None,
        "cpu_cores": os.cpu_count(),
        "target_ratio": TARGET_RATIO,
        "target_met": cluster["state"] == "success" and ratio <= TARGET_RATIO,
        "wayback_rate_limit": wayback,
        "classification": {
            "identical": count - len(differences),
            "different": len(differences),
            "examples": differences[:10],
        },
        "notes": [
            "wall_s of the DAG: REST trigger to the run's completion as the API reports it (polled every second); "
            "cluster start-up and the resource import are reported but not counted.",
            "the per-host cap is per batch task: with k batches in flight a host can see up to k x the cap.",
            "cpu_s_during_run: CPU seconds of each component's process group (task processes included once "
            "reaped) between trigger and completion; with 2 cores, their total over 2 bounds the wall time.",
        ],
        "summary": (
            f"scaleout: {count} URLs, external_resource_check on 2 Celery workers x {worker_concurrency} "
            f"(link_check pool {link_check_slots}, max_active_tasks {cluster['max_active_tasks_per_dag']}) "
            f"{cluster['wall_s']:.1f} s vs checker alone {alone_s:.1f} s "
            f"= {ratio:.2f}x (target <= {TARGET_RATIO:g}x); run {cluster['state']}; "
            f"batches per worker {cluster['tasks']['per_worker']}; {len(differences)} classification differences; "
            f"wayback_submit on {len(wayback['submit_batches_per_worker'])} workers: {observed['requests']} SPN2 "
            f"requests at {observed.get('average_rate_per_s')} req/s (limit {wayback_rate:g}), "
            f"at most {observed.get('max_ahead_of_limit_s')} s ahead of the limit, held: {observed.get('limit_held')}"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_URLS} URLs instead of {FULL_URLS}")
    add_arguments(parser)
    args = vars(parser.parse_args(argv))
    figures = run(**args)
    print(json.dumps(figures, indent=2, default=str))
    succeeded = figures["celery_dag"]["state"] == figures["wayback_rate_limit"]["state"] == "success"
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
