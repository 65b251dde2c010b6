"""The docker-compose scale-out topology as local processes: CeleryExecutor on PostgreSQL and Redis.

Used by the integration tests (``tests/integration``) and the scale benchmark (``benchmarks/bench_scaleout.py``).
:class:`LocalCeleryCluster` creates a private AIRFLOW_HOME, a fresh PostgreSQL database for Airflow's metadata and
another for the archive state DB, takes one (empty) Redis database as the Celery broker, migrates both databases,
imports the pools, then starts ``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and N
``airflow celery worker`` processes, each in its own process group with its output in ``<workdir>/logs/``.

Every wait is bounded. :meth:`LocalCeleryCluster.stop` terminates every process group it started (SIGTERM, then
SIGKILL after a grace period), drops both databases and flushes the Redis database, even after a failed start; it
is idempotent and also registered with ``atexit`` so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_SERVER = "redis://127.0.0.1:6379"
# A fixed secret so every component signs and verifies the same task tokens (as the compose file does).
JWT_SECRET = "ocw-local-cluster-jwt-secret"
FINISHED_RUN_STATES = {"success", "failed"}
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


class ClusterError(RuntimeError):
    """The cluster could not start, a process died, or a bounded wait ran out."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    probe: Callable[[], T | None], *, timeout_s: float, interval_s: float = 0.5, what: str, check: Callable[[], None]
) -> T:
    """Call ``probe`` until it returns something other than None; ``check`` raises early if the cluster broke."""
    deadline = time.monotonic() + timeout_s
    while True:
        check()
        result = probe()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise ClusterError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


# Resolved once in the parent: after fork the child must not load libraries (a lock held by another thread at
# fork time would never be released in the child).
_LIBC_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Child-side set-up (after ``setsid``): get SIGTERM if the launching thread dies, even by SIGKILL."""
    if _LIBC_PRCTL is not None:
        _LIBC_PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _group_has_live_members(pgid: int) -> bool:
    """Whether any non-zombie process belongs to process group ``pgid``.

    On Linux this reads ``/proc``: orphaned members killed with the group stay zombies until init reaps them, and
    ``killpg(pgid, 0)`` would still count those. Elsewhere it falls back to ``killpg``.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue  # the process ended while we looked
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of the live members of a process group, plus that of children they reaped.

    Linux only (``/proc``); 0.0 elsewhere. Live members' own time is never inside another live member's
    ``cutime`` (that only grows when a child is reaped), so the sum counts nothing twice.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            # state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
            total += sum(int(value) for value in fields[11:15])
    return total / ticks


@dataclass
class ManagedProcess:
    """One long-running command in its own process group, logging to a file."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                list(self.argv),
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,  # its own process group, signalled as one on stop
                preexec_fn=_die_with_parent,  # noqa: PLW1509  (one prctl call, no locks, no imports)
            )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def group_alive(self) -> bool:
        """Some member of the process group (leader or descendant) is still running (zombies do not count)."""
        if self.popen is None:
            return False
        self.popen.poll()  # reap the leader if it exited, so it does not linger as a zombie
        return _group_has_live_members(self.popen.pid)

    def tail(self, lines: int = 40) -> str:
        try:
            content = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(content[-lines:])


def stop_processes(processes: Sequence[ManagedProcess], *, grace_s: float = 20.0) -> list[str]:
    """SIGTERM every process group, wait up to ``grace_s`` in total, then SIGKILL what is left.

    Returns the names of the groups that had to be killed.
    """
    for process in processes:
        process.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(process.group_alive() for process in processes):
        time.sleep(0.2)
    killed = []
    for process in processes:
        if process.group_alive():
            killed.append(process.name)
            process.signal_group(signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(process.group_alive() for process in processes):
        time.sleep(0.1)
    for process in processes:
        if process.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=5)
    return killed


@dataclass
class ClusterConfig:
    """What the cluster runs and with which settings.

    :param workers: number of ``airflow celery worker`` processes (each gets a distinct hostname).
    :param worker_concurrency: Celery pool size per worker.
    :param pg_admin_url: SQLAlchemy URL of a database on the PostgreSQL server that may create databases.
    :param redis_server: ``redis://host:port`` of the broker server.
    :param redis_db: Redis database number used as the broker; it must be empty at start and is flushed at stop.
    :param connections: extra Airflow Connections (conn id -> dict), passed as ``AIRFLOW_CONN_*`` JSON.
    :param variables: Airflow Variables passed as ``AIRFLOW_VAR_*``.
    :param pool_slots: overrides of pool sizes from ``include/pools.json`` (deployment tuning).
    :param airflow_settings: extra ``AIRFLOW__SECTION__KEY`` settings, applied last.
    :param start_timeout_s: bound on each start-up wait (health, workers).
    """

    root: Path = ROOT
    workers: int = 2
    worker_concurrency: int = 2
    pg_admin_url: str = DEFAULT_PG_ADMIN_URL
    redis_server: str = DEFAULT_REDIS_SERVER
    redis_db: int = 14
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    pool_slots: dict[str, int] = field(default_factory=dict)
    airflow_settings: dict[str, str] = field(default_factory=dict)
    start_timeout_s: float = 180.0


def _base_environment() -> dict[str, str]:
    """The caller's environment without any Airflow settings, Connections or Variables of its own."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_", "AIRFLOW__"))}


class LocalCeleryCluster:
    """Airflow's docker-compose topology as local processes; see the module docstring.

    Use as a context manager, or call :meth:`start` and :meth:`stop` (always, even when start fails).
    """

    def __init__(self, config: ClusterConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.airflow_home = workdir / "airflow_home"
        self.log_dir = workdir / "logs"
        suffix = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.metadata_db = f"ocw_it_airflow_{suffix}"
        self.archive_db = f"ocw_it_archive_{suffix}"
        self.api_port = free_port()
        self.processes: list[ManagedProcess] = []
        self.worker_names = [f"ocw-worker-{index + 1}" for index in range(config.workers)]
        self._created_databases: list[str] = []
        self._redis_used = False
        self._stopped = False
        self.env = self._environment()
        self.api = ApiClient(f"http://127.0.0.1:{self.api_port}")

    # --- URLs and environment ---------------------------------------------------------------------

    def _database_url(self, name: str, driver: str = "postgresql+psycopg2") -> str:
        url = make_url(self.config.pg_admin_url).set(drivername=driver, database=name)
        return url.render_as_string(hide_password=False)

    @property
    def metadata_db_url(self) -> str:
        return self._database_url(self.metadata_db)

    @property
    def archive_db_url(self) -> str:
        return self._database_url(self.archive_db)

    @property
    def broker_url(self) -> str:
        return f"{self.config.redis_server}/{self.config.redis_db}"

    def _environment(self) -> dict[str, str]:
        root = self.config.root
        env = _base_environment()
        env.update(
            {
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
                # The backfill tests state their logical dates in UTC; this also proves the setting reaches the
                # dag-processor. Local-time schedules (the default) are tested in tests/dags/test_schedules.py.
                "OCW_DAG_TIMEZONE": "UTC",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "ocw_operators.worker_identity.hostname",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_db_url,
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self._database_url(self.metadata_db, "postgresql"),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.log_dir / "tasks"),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                # Runs come only from whoever drives the cluster (REST/CLI triggers, backfills): no cron or asset
                # triggered runs, so unpausing a DAG never adds a run that would compete with the ones under test.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "PYTHONPATH": os.pathsep.join([str(root / "plugins"), str(root / "include")]),
                "AIRFLOW_CONN_OCW_ARCHIVE_DB": json.dumps(
                    {"conn_type": "ocw_archive_db", "extra": {"sqlalchemy_url": self.archive_db_url}}
                ),
            }
        )
        env.update(self._async_metadata_setting())
        env.update(self.config.airflow_settings)
        for conn_id, connection in self.config.connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
        for key, value in self.config.variables.items():
            env[f"AIRFLOW_VAR_{key.upper()}"] = str(value)
        return env

    def _async_metadata_setting(self) -> dict[str, str]:
        """Airflow 3 also opens an asyncio engine on the metadata DB (``sql_alchemy_conn_async``), via asyncpg."""
        return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": self._database_url(self.metadata_db, "postgresql+asyncpg")}

    # --- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> LocalCeleryCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        atexit.register(self.stop)
        (self.airflow_home / "config").mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_redis()
        for name in (self.metadata_db, self.archive_db):
            self._create_database(name)
        self.airflow("db", "migrate", timeout_s=240)
        self.airflow("pools", "import", str(self.config.root / "include" / "pools.json"), timeout_s=60)
        for pool, slots in self.config.pool_slots.items():
            self.airflow("pools", "set", pool, str(slots), f"{pool} (resized for this cluster)", timeout_s=60)
        self.ocw_operators("db", "upgrade", timeout_s=120)
        self._start_processes()
        self.wait_healthy(self.config.start_timeout_s)

    def _start_processes(self) -> None:
        airflow = [sys.executable, "-m", "airflow"]
        commands = {
            "api-server": [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "-w", "1"],
            "scheduler": [*airflow, "scheduler"],
            "dag-processor": [*airflow, "dag-processor"],
            "triggerer": [*airflow, "triggerer"],
        }
        for name, argv in commands.items():
            self._launch(name, argv, self.env)
        for worker in self.worker_names:
            worker_env = {
                **self.env,
                "OCW_WORKER_HOSTNAME": worker,
                # Each worker serves its task logs on its own port (they share this machine).
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            }
            argv = [
                *airflow,
                "celery",
                "worker",
                "--celery-hostname",
                f"{worker}@%h",
                "--concurrency",
                str(self.config.worker_concurrency),
                "--without-gossip",
                "--without-mingle",
            ]
            self._launch(worker, argv, worker_env)

    def _launch(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        process = ManagedProcess(name, argv, env, self.log_dir / f"{name}.log")
        self.processes.append(process)
        process.start()

    def stop(self) -> None:
        """Stop every process group, drop both databases, flush the broker DB. Safe to call repeatedly."""
        if self._stopped:
            return
        self._stopped = True
        killed = stop_processes(self.processes)
        if killed:
            print(f"local cluster: killed after the grace period: {', '.join(killed)}", file=sys.stderr)
        for name in reversed(self._created_databases):
            with contextlib.suppress(Exception):
                self._drop_database(name)
        if self._redis_used:
            with contextlib.suppress(Exception):
                self._redis().flushdb()
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    # --- health -----------------------------------------------------------------------------------

    def check_processes(self) -> None:
        """Raise with the log tail of any process that has exited."""
        for process in self.processes:
            if process.popen is not None and not process.running:
                raise ClusterError(
                    f"{process.name} exited with {process.popen.returncode}; last log lines:\n{process.tail()}"
                )

    def wait_healthy(self, timeout_s: float) -> None:
        """The api-server reports every component healthy and every Celery worker answers a ping."""
        wait_until(self._api_health, timeout_s=timeout_s, what="api-server health", check=self.check_processes)
        wait_until(self._workers_ready, timeout_s=timeout_s, what="Celery workers", check=self.check_processes)

    def _api_health(self) -> dict | None:
        try:
            health = self.api.get("/api/v2/monitor/health", timeout=5)
        except (requests.RequestException, ApiError):
            return None
        components = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        if all((health.get(name) or {}).get("status") == "healthy" for name in components):
            return health
        return None

    def _workers_ready(self) -> list[str] | None:
        from celery import Celery

        app = Celery(broker=self.broker_url)
        try:
            replies = app.control.ping(timeout=1.0) or []
        except Exception:
            return None
        finally:
            app.close()
        nodes = sorted(name.split("@", 1)[0] for reply in replies for name in reply)
        return nodes if nodes == sorted(self.worker_names) else None

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each component's process group (Linux; see :func:`group_cpu_seconds`)."""
        return {
            process.name: round(group_cpu_seconds(process.popen.pid), 2)
            for process in self.processes
            if process.popen is not None
        }

    def log_tails(self, lines: int = 30) -> str:
        return "\n\n".join(
            f"==== {process.name} ({process.log_path}) ====\n{process.tail(lines)}" for process in self.processes
        )

    # --- commands ---------------------------------------------------------------------------------

    def airflow(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        """Run an ``airflow`` CLI command against this cluster; raise with its output if it fails."""
        return self._run([sys.executable, "-m", "airflow", *args], timeout_s)

    def ocw_operators(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        """Run the project's CLI (``python -m ocw_operators``) against this cluster's archive DB."""
        return self._run([sys.executable, "-m", "ocw_operators", "--db-url", self.archive_db_url, *args], timeout_s)

    def _run(self, argv: list[str], timeout_s: float) -> subprocess.CompletedProcess:
        try:
            result = subprocess.run(
                argv, check=False, env=self.env, cwd=self.config.root, capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired as error:
            raise ClusterError(f"{' '.join(argv[2:])} did not finish in {timeout_s:.0f}s") from error
        if result.returncode != 0:
            output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            raise ClusterError(f"{' '.join(argv[2:])} exited with {result.returncode}:\n{output}")
        return result

    # --- PostgreSQL and Redis ---------------------------------------------------------------------

    def _admin_engine(self):
        return create_engine(self.config.pg_admin_url, isolation_level="AUTOCOMMIT")

    def _create_database(self, name: str) -> None:
        engine = self._admin_engine()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            self._created_databases.append(name)
        finally:
            engine.dispose()

    def _drop_database(self, name: str) -> None:
        engine = self._admin_engine()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.broker_url, socket_connect_timeout=3, socket_timeout=5)

    def _prepare_redis(self) -> None:
        """Claim the broker database: refuse one that holds keys, so another run's queue is never wiped."""
        client = self._redis()
        keys = client.dbsize()
        if keys:
            raise ClusterError(
                f"Redis database {self.config.redis_db} holds {keys} keys; choose an empty one (redis_db=...)"
            )
        self._redis_used = True

    # --- DAG runs ---------------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout_s: float = 90) -> dict:
        """Wait until the dag-processor has serialized ``dag_id`` (fail fast on an import error)."""

        def probe() -> dict | None:
            errors = self.api.get("/api/v2/importErrors").get("import_errors", [])
            if errors:
                raise ClusterError(f"DAG import errors: {errors}")
            try:
                return self.api.get(f"/api/v2/dags/{dag_id}")
            except ApiError as error:
                if error.status == 404:
                    return None
                raise

        return wait_until(probe, timeout_s=timeout_s, interval_s=1.0, what=f"DAG {dag_id}", check=self.check_processes)

    def unpause(self, dag_id: str) -> None:
        self.api.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None, logical_date: dt.datetime | None = None) -> str:
        """Create a manual DAG run through the REST API and return its run id."""
        when = logical_date or dt.datetime.now(dt.UTC)
        run = self.api.post(f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": when.isoformat(), "conf": conf or {}})
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> dict:
        def probe() -> dict | None:
            run = self.api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in FINISHED_RUN_STATES else None

        return wait_until(
            probe, timeout_s=timeout_s, interval_s=1.0, what=f"{dag_id} {run_id}", check=self.check_processes
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return list(self.api.paginate(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", "task_instances"))

    def dag_runs(self, dag_id: str) -> list[dict]:
        return list(self.api.paginate(f"/api/v2/dags/{dag_id}/dagRuns", "dag_runs"))


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status


class ApiClient:
    """A small client of Airflow's REST API (``/api/v2``); every request has a timeout."""

    def __init__(self, base_url: str, timeout_s: float = 15.0) -> None:
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def request(
        self, method: str, path: str, *, body: Any = None, params: dict | None = None, timeout: float | None = None
    ) -> Any:
        response = self.session.request(
            method, self.base_url + path, json=body, params=params, timeout=timeout or self.timeout_s
        )
        if response.status_code >= 400:
            raise ApiError(method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def get(self, path: str, params: dict | None = None, timeout: float | None = None) -> Any:
        return self.request("GET", path, params=params, timeout=timeout)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body)

    def paginate(self, path: str, key: str, page_size: int = 100) -> Iterator[dict]:
        offset = 0
        while True:
            page = self.get(path, params={"limit": page_size, "offset": offset})
            items = page.get(key, [])
            yield from items
            offset += len(items)
            if not items or offset >= page.get("total_entries", 0):
                return
