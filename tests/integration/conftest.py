"""The integration tier: one local Celery cluster per session (see ``cluster.py``), torn down at the end.

Needs PostgreSQL (``OCW_TEST_PG_URL``), Redis (``OCW_TEST_REDIS_URL``'s server) and
``apache-airflow-providers-celery``. Outside CI it skips with the reason when one is missing; in CI it fails.
When a test that uses the cluster fails, the tail of every process log is added to its report.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ALERT_TEST_RECIPIENTS, PG_ADMIN_URL, REDIS_URL, require_service
from tests.integration.cluster import ClusterConfig, ClusterError, LocalCeleryCluster

# Celery broker database of the test cluster: not conftest's Redis test DB (15), nor the benchmark's (13).
CLUSTER_REDIS_DB = 14
CLUSTER_VARIABLES = {
    # Small per-URL timeout: the link farm's /hang must not stretch a test run.
    "LINK_CHECK_TIMEOUT_SECONDS": "3",
    "ENABLE_WAYBACK_TASKS": "true",
}
WAYBACK_ACCESS_KEY = "cluster-access-key"
WAYBACK_SECRET = "cluster-secret-key"
ALERT_DEADLINE_SETTING = "OCW_DEADLINE_HOURS_ARCHIVE_ATTENTION"
_active: dict[str, LocalCeleryCluster] = {}


def _redis_server(url: str) -> str:
    """``redis://host:port/15`` -> ``redis://host:port`` (the cluster picks its own database number)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _check_services() -> None:
    engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        require_service("PostgreSQL", False, f"{PG_ADMIN_URL}: {error.__class__.__name__}")
    finally:
        engine.dispose()
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:
        require_service("Redis", False, f"{REDIS_URL}: {error.__class__.__name__}")
    try:
        import airflow.providers.celery  # noqa: F401
    except ImportError as error:
        require_service("apache-airflow-providers-celery", False, str(error))


@pytest.fixture(scope="session")
def oai_sandbox(sandbox_runtime):
    """The sandbox DSpace OAI-PMH endpoint the cluster's ``dspace_oai_default`` Connection points at.

    Its store is in memory and its clock is moved by hand, so tests deposit items with known datestamps.
    """
    from tests.ocw_operators.oai.support import start_oai_sandbox

    return start_oai_sandbox(sandbox_runtime)


@pytest.fixture(scope="session")
def wayback_sandbox(sandbox_runtime) -> str:
    """Base URL of the sandbox SPN2 service behind the cluster's ``wayback_default`` Connection."""
    from ocw_sandbox.wayback import make_wayback_app

    port = sandbox_runtime.serve(make_wayback_app(WAYBACK_ACCESS_KEY, WAYBACK_SECRET, capture_seconds=0.2))
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def cluster_mail(sandbox_runtime, tmp_path_factory):
    """The sandbox mail server behind the cluster's ``smtp_default``: every alert of the session lands here."""
    from tests.conftest import MailSandbox

    return MailSandbox(sandbox_runtime, tmp_path_factory.mktemp("cluster-mail"))


@pytest.fixture(scope="session")
def celery_cluster(oai_sandbox, wayback_sandbox, cluster_mail) -> Iterator[LocalCeleryCluster]:
    """Airflow api-server, scheduler, dag-processor, triggerer and two Celery workers on PostgreSQL + Redis."""
    from tests.ocw_operators.oai.support import OCW_SET

    _check_services()
    workdir = Path(tempfile.mkdtemp(prefix="ocw-celery-cluster-"))
    config = ClusterConfig(
        workers=2,
        worker_concurrency=2,
        pg_admin_url=PG_ADMIN_URL,
        redis_server=_redis_server(REDIS_URL),
        redis_db=CLUSTER_REDIS_DB,
        variables={**CLUSTER_VARIABLES, "ALERT_EMAIL_RECIPIENTS": ALERT_TEST_RECIPIENTS},
        # A deadline that every run of the digest misses (about a second after it is queued): the scheduler and
        # the triggerer then send the late-run alert for real.
        airflow_settings={ALERT_DEADLINE_SETTING: "0.0003"},
        connections={
            "smtp_default": json.loads(cluster_mail.conn_json()),
            "dspace_oai_default": json.loads(oai_sandbox.connection_json(set_spec=OCW_SET)),
            "wayback_default": {
                "conn_type": "wayback_spn2",
                "host": wayback_sandbox,
                "login": WAYBACK_ACCESS_KEY,
                "password": WAYBACK_SECRET,
                "extra": {"timeout": 10},
            },
        },
    )
    cluster = LocalCeleryCluster(config, workdir)
    try:
        try:
            cluster.start()
        except ClusterError as error:
            pytest.fail(f"the local Celery cluster did not start: {error}\n\n{cluster.log_tails()}")
        _active["cluster"] = cluster
        yield cluster
    finally:
        _active.pop("cluster", None)
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cluster = _active.get("cluster")
    if report.failed and cluster is not None and "celery_cluster" in getattr(item, "fixturenames", ()):
        report.sections.append(("local Celery cluster: process log tails", cluster.log_tails()))
