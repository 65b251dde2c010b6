"""Test environment: a private AIRFLOW_HOME, archive DBs on SQLite and PostgreSQL, and the sandbox.

Airflow reads its configuration at import time, so the environment is prepared here, before any test
module imports airflow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "plugins", ROOT / "include", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ocw-airflow-home-"))
_TEST_ENV = {
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_AIRFLOW_HOME / "logs"),
    # As make run and docker-compose.yaml set it; Airflow reads it once, when it starts.
    "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "sqlalchemy_url",
    # The schedules' timezone is read while DAG files are parsed; tests expect the default.
    "OCW_DAG_TIMEZONE": "America/New_York",
    "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include"), str(ROOT)]),
}
os.environ.update(_TEST_ENV)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get("OCW_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OCW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


def require_service(name: str, reachable: bool, detail: str) -> None:
    """Skip outside CI when a server is missing; in CI a missing server is a failure, never a skip."""
    if reachable:
        return
    message = f"{name} is not reachable ({detail})"
    if IN_CI:
        pytest.fail(f"{message}; CI must run the {name} tests")
    pytest.skip(f"{message}; set it up or run in CI to include these tests")


# --- archive state DB -------------------------------------------------------------------------------


def _create_pg_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ocw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        require_service("PostgreSQL", False, f"{PG_ADMIN_URL}: {error.__class__.__name__}")
    finally:
        admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


ARCHIVE_DB_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def migrated_archive_db(backend: str, directory: Path) -> Iterator[str]:
    """A fresh archive DB at the current schema: a SQLite file in ``directory``, or a new PostgreSQL database
    (dropped afterwards). Yields its URL; the hook's cached engine for it is disposed at the end."""
    from ocw_operators.db import migrate
    from ocw_operators.hooks.archive_db import _engine_for

    name = None
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'archive.db'}"
    else:
        name, url = _create_pg_database()
    try:
        migrate.upgrade(url)
        yield url
    finally:
        _engine_for(url).dispose()
        if name:
            _drop_pg_database(name)


@pytest.fixture(params=ARCHIVE_DB_BACKENDS)
def archive_db_url(request, tmp_path) -> Iterator[str]:
    """An empty, migrated archive DB URL; every test using it runs on SQLite and on PostgreSQL."""
    with migrated_archive_db(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def archive_engine(archive_db_url):
    from ocw_operators.db import make_engine

    engine = make_engine(archive_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def archive_db_conn(archive_db_url, monkeypatch) -> str:
    """Point the ``ocw_archive_db`` Airflow Connection at the test DB (env-var Connection, no Airflow DB)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_OCW_ARCHIVE_DB",
        json.dumps({"conn_type": "ocw_archive_db", "extra": {"sqlalchemy_url": archive_db_url}}),
    )
    return archive_db_url


# --- Redis ----------------------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:
        require_service("Redis", False, f"{REDIS_URL}: {error.__class__.__name__}")
    return REDIS_URL


# --- sandbox --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox_runtime():
    from ocw_sandbox.runtime import SandboxRuntime

    runtime = SandboxRuntime()
    yield runtime
    runtime.close()


# --- Airflow metadata DB (only for dag.test() runs) -------------------------------------------------------


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the private Airflow metadata DB once and create the project's pools."""
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    subprocess.run(
        [*airflow, "pools", "import", str(ROOT / "include" / "pools.json")],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return _AIRFLOW_HOME


# --- link farm (ocw_sandbox.linkfarm) ---------------------------------------------------------------------


class LinkFarm:
    """A link farm bound on ``len(ports)`` ports of the session's sandbox runtime; one port is one host."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports

    def url(self, path: str, host: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[host]}{path}"

    def stats(self) -> dict:
        import requests

        return requests.get(self.url("/_sandbox/stats"), timeout=5).json()

    def wait_idle(self, timeout: float = 5.0) -> dict:
        """Stats once no request is in flight (server handlers finish just after their clients leave)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if stats["in_flight"] == 0 or time.monotonic() > deadline:
                return stats
            time.sleep(0.02)


@pytest.fixture
def linkfarm(sandbox_runtime):
    """Factory: ``linkfarm(hosts=1, latency_s=0.0)`` starts a fresh farm (fresh stats) and returns a LinkFarm."""
    from ocw_sandbox.linkfarm import make_linkfarm_app

    def start(hosts: int = 1, latency_s: float = 0.0) -> LinkFarm:
        return LinkFarm(sandbox_runtime.serve_many(make_linkfarm_app(latency_s=latency_s), [0] * hosts))

    return start


# --- Wayback Machine (SPN2) sandbox -------------------------------------------------------------------------

WAYBACK_TEST_ACCESS_KEY = "sandbox-access-key-7f3a9c"
WAYBACK_TEST_SECRET = "sandbox-secret-key-d41e8b2c"


class WaybackSandbox:
    """A running sandbox SPN2 service: its base URL, its in-memory state and Connection JSON for it."""

    def __init__(self, runtime, **app_options):
        from ocw_sandbox.wayback import make_wayback_app, wayback_state

        self.app = make_wayback_app(WAYBACK_TEST_ACCESS_KEY, WAYBACK_TEST_SECRET, **app_options)
        self.state = wayback_state(self.app)
        self.port = runtime.serve(self.app)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.access_key = WAYBACK_TEST_ACCESS_KEY
        self.secret = WAYBACK_TEST_SECRET

    def conn_json(self, *, timeout: float = 5.0, secret: str | None = None) -> str:
        return json.dumps(
            {
                "conn_type": "wayback_spn2",
                "host": self.base_url,
                "login": self.access_key,
                "password": self.secret if secret is None else secret,
                "extra": {"timeout": timeout},
            }
        )

    def save_requests(self) -> list[dict]:
        return list(self.state.requests)


@pytest.fixture
def wayback_sandbox(sandbox_runtime) -> WaybackSandbox:
    """A fresh sandbox SPN2 service per test (captures finish after 0.2 s)."""
    return WaybackSandbox(sandbox_runtime, capture_seconds=0.2)


@pytest.fixture
def wayback_conn(wayback_sandbox, monkeypatch) -> WaybackSandbox:
    """Point the ``wayback_default`` Airflow Connection at the sandbox."""
    monkeypatch.setenv("AIRFLOW_CONN_WAYBACK_DEFAULT", wayback_sandbox.conn_json())
    return wayback_sandbox


# --- DSpace (SWORD deposit and OAI-PMH over one store) and the course CMS (ocw_sandbox) --------------------


@pytest.fixture
def sandbox(sandbox_runtime, tmp_path):
    """A fresh sandbox DSpace and CMS: what SWORD deposits, OAI-PMH serves (see retirement/sandbox_env.py)."""
    from tests.ocw_operators.retirement.sandbox_env import start_sandbox

    return start_sandbox(sandbox_runtime, tmp_path)


# --- the sandbox mail server (ocw_sandbox.mail) and the alert Connection/Variable pointing at it -----------------

MAIL_TEST_LOGIN, MAIL_TEST_PASSWORD = "sandbox-mailer", "sandbox-mail-password-5c1e"
ALERT_TEST_RECIPIENTS = "archive-operators@example.edu, on-call@example.edu"


class MailSandbox:
    """A sandbox SMTP server and its mailbox; ``messages()`` parses what it received."""

    def __init__(self, runtime, directory: Path) -> None:
        from ocw_sandbox.mail import Mailbox, make_mail_app, smtp_protocol_factory

        self.mailbox = Mailbox(directory)
        self.smtp_port = runtime.serve_protocol(
            smtp_protocol_factory(self.mailbox, MAIL_TEST_LOGIN, MAIL_TEST_PASSWORD)
        )
        self.page_url = f"http://127.0.0.1:{runtime.serve(make_mail_app(self.mailbox))}"

    def conn_json(self) -> str:
        from ocw_sandbox.demo import smtp_connection

        connection = smtp_connection("127.0.0.1", self.smtp_port, MAIL_TEST_LOGIN, MAIL_TEST_PASSWORD)
        return json.dumps({**connection, "extra": json.loads(connection["extra"])})

    def messages(self) -> list:
        import email
        import email.policy

        return [
            email.message_from_bytes(stored.path.read_bytes(), policy=email.policy.default)
            for stored in self.mailbox.messages()
        ]


@pytest.fixture
def mail_sandbox(sandbox_runtime, tmp_path, monkeypatch) -> MailSandbox:
    """A fresh sandbox mail server; ``smtp_default`` and ``ALERT_EMAIL_RECIPIENTS`` point at it."""
    mail = MailSandbox(sandbox_runtime, tmp_path / "mail")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", mail.conn_json())
    monkeypatch.setenv("AIRFLOW_VAR_ALERT_EMAIL_RECIPIENTS", ALERT_TEST_RECIPIENTS)
    return mail


@pytest.fixture(autouse=True, scope="session")
def _dag_test_runs_without_deadlines():
    """Airflow 3.3.2's ``dag.test()`` cannot finish a successful run of a DAG that has a deadline: it serializes
    the DAG without the metadata DB, so its deadline alerts never get ids, and pruning them when the run succeeds
    fails (``'dict' object has no attribute 'hex'`` in ``DeadlineAlertModel.get_by_id``). The scheduler reads the
    ids from the DB and is not affected. So ``dag.test()`` runs here without the deadline; deadlines are tested in
    tests/ocw_operators/alerts/test_deadlines.py and by the DAG policy test."""
    from airflow.sdk import DAG

    original = DAG.test

    def test_without_deadline(self, *args, **kwargs):
        deadline, self.deadline = self.deadline, None
        try:
            return original(self, *args, **kwargs)
        finally:
            self.deadline = deadline

    DAG.test = test_without_deadline
    yield
    DAG.test = original
