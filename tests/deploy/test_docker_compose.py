"""Validate docker-compose.yaml without a Docker engine: services, environment, mounts and healthchecks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_topology(compose):
    services = set(compose["services"])
    assert AIRFLOW_SERVICES | {"postgres", "redis", "sandbox"} <= services
    assert compose["services"]["sandbox"]["profiles"] == ["sandbox"]


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES | {"postgres", "redis"}))
def test_long_running_services_have_healthchecks(compose, name):
    if name == "airflow-init":
        pytest.skip("the init service runs once and exits")
    assert compose["services"][name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_airflow_services_share_env_and_mount_the_project(compose, name):
    service = compose["services"][name]
    env = service["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    mounts = {volume.rsplit(":", 1)[1] for volume in service["volumes"]}
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= mounts
    archive = json.loads(env["AIRFLOW_CONN_OCW_ARCHIVE_DB"])
    assert archive["conn_type"] == "postgres" and archive["schema"] == "ocw_archive"


def test_init_migrates_both_databases_and_creates_pools(compose):
    script = "\n".join(compose["services"]["airflow-init"]["command"])
    for step in ("airflow db migrate", "python -m ocw_operators db upgrade", "airflow pools import"):
        assert step in script


def test_image_installs_the_pinned_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = re.search(r"^apache-airflow==([\d.]+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"apache/airflow:{pinned}-python3.11" in dockerfile
    assert "-r /opt/ocw/requirements.txt -c /opt/ocw/constraints.txt" in dockerfile


def test_connection_defaults_are_valid_json(compose):
    env = compose["x-airflow-common"]["environment"]
    for key, value in env.items():
        if key.startswith("AIRFLOW_CONN_"):
            default = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
            json.loads(default.group(1) if default else value)
