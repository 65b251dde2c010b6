"""Validate docker-compose.yaml without a Docker engine: services, environment, mounts, healthchecks, and that the
deployment is secure by default (no usable default secret, secrets from the generated files, sandbox credentials
only under the sandbox profile). test_deploy_secrets.py runs the secrets script and Airflow against them."""

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


def _mount(volume: str) -> tuple[str, str]:
    """``source:target[:ro]`` -> (source, target); the source may hold ``${VAR:-default}``."""
    source, target = volume.removesuffix(":ro").rsplit(":", 1)
    return source, target


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
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"] == "cat /opt/airflow/secrets/sql_alchemy_conn"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    mounts = {_mount(volume)[1] for volume in service["volumes"]}
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include", "/opt/airflow/secrets"} <= mounts


def test_init_migrates_both_databases_and_creates_pools(compose):
    script = "\n".join(compose["services"]["airflow-init"]["command"])
    for step in (
        "deploy_secrets.py check --dir /opt/airflow/secrets",
        "airflow db migrate",
        "airflow connections import --overwrite /opt/airflow/secrets/archive_db_connection.json",
        "python -m ocw_operators db upgrade",
        "airflow pools import",
        "deploy_secrets.py check-connections",
    ):
        assert step in script
    # the archive DB exists before it is migrated, and the secrets are checked before anything else
    assert script.index("deploy_secrets.py check ") < script.index("create-postgres-database")
    assert script.index("connections import") < script.index("ocw_operators db upgrade")


def test_image_installs_the_pinned_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = re.search(r"^apache-airflow==([\d.]+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"apache/airflow:{pinned}-python3.11" in dockerfile
    assert "-r /opt/ocw/requirements.txt -c /opt/ocw/constraints.txt" in dockerfile
    assert "COPY scripts/deploy_secrets.py /opt/ocw/scripts/deploy_secrets.py" in dockerfile


def test_secrets_backend_default_is_the_connections_file(compose):
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__SECRETS__BACKEND"] == (
        "${OCW_SECRETS_BACKEND:-airflow.secrets.local_filesystem.LocalFilesystemBackend}"
    )
    default = re.fullmatch(r"\$\{OCW_SECRETS_BACKEND_KWARGS:-(.*)\}", env["AIRFLOW__SECRETS__BACKEND_KWARGS"])
    assert json.loads(default.group(1)) == {"connections_file_path": "/opt/airflow/connections/connections.json"}
    sandbox_env = dict(
        line.split("=", 1) for line in (ROOT / "sandbox.env").read_text().splitlines() if line and line[0] != "#"
    )
    assert json.loads(sandbox_env["OCW_SECRETS_BACKEND_KWARGS"]) == {
        "connections_file_path": "/opt/ocw-data/sandbox/connections.json"
    }
    assert sandbox_env["COMPOSE_PROFILES"] == "sandbox"
    assert "/opt/ocw-data/sandbox/connections.json" in compose["services"]["sandbox"]["command"]


# --- secure by default --------------------------------------------------------------------------------------

# Every secret the deployment uses, as Airflow reads it: a command printing a file of the secrets volume.
SECRET_SETTINGS = {
    "AIRFLOW__CORE__FERNET_KEY_CMD": "fernet_key",
    "AIRFLOW__API_AUTH__JWT_SECRET_CMD": "jwt_secret",
    "AIRFLOW__API__SECRET_KEY_CMD": "api_secret_key",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": "sql_alchemy_conn",
}
# CONN as in SQL_ALCHEMY_CONN or AIRFLOW_CONN_*, not [core] test_connection.
SECRETISH = re.compile(r"PASSWORD|SECRET|FERNET|JWT|TOKEN|_KEY\b|_KEY_|CONN(\b|_)", re.IGNORECASE)
# Settings whose names look secret but hold none: the list of extra keys Airflow masks.
NOT_SECRETS = {"AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES"}
PUBLISHED_DEFAULT_SECRETS = [
    "change-me-ocw-jwt-secret",
    "airflow_jwt_secret",
    "sandbox-secret",
    "sandbox-sword-secret",
    "sandbox-cms-secret",
    "sandbox-access",
    "airflow:airflow@",
    '"password": "airflow"',
]


def _environments(compose: dict):
    yield "x-airflow-common", compose["x-airflow-common"]["environment"]
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        yield name, env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_no_published_default_secret_appears_in_the_deployment_files():
    for name in ("docker-compose.yaml", "Dockerfile", "sandbox.env"):
        text = (ROOT / name).read_text()
        assert [secret for secret in PUBLISHED_DEFAULT_SECRETS if secret in text] == [], name


def test_no_secret_setting_has_a_value_or_a_default(compose):
    for service, env in _environments(compose):
        for key, value in env.items():
            if not SECRETISH.search(key) or key.startswith("AIRFLOW__SECRETS__") or key in NOT_SECRETS:
                continue
            assert key in SECRET_SETTINGS or key.endswith(("PASSWORD_FILE", "PASSWORDS_FILE")), f"{service}: {key}"
            assert ":-" not in str(value) and "-}" not in str(value), f"{service}: {key} has a default"


def test_airflow_reads_every_secret_from_the_generated_files(compose):
    from scripts.deploy_secrets import REQUIRED_FILES

    env = compose["x-airflow-common"]["environment"]
    for key, file_name in SECRET_SETTINGS.items():
        assert env[key] == f"cat /opt/airflow/secrets/{file_name}"
        assert file_name in REQUIRED_FILES
    postgres = compose["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/ocw-secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == (
        "/opt/airflow/auth/simple_auth_manager_passwords.json"
    )


def test_secrets_are_generated_once_before_anything_that_uses_them(compose):
    services = compose["services"]
    secrets_service = services["airflow-secrets"]
    assert secrets_service["command"][:3] == ["python", "/opt/ocw/scripts/deploy_secrets.py", "generate"]
    assert secrets_service["depends_on"] == {}
    for name in ("postgres", "airflow-init"):
        assert services[name]["depends_on"]["airflow-secrets"] == {"condition": "service_completed_successfully"}
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_only_the_generator_writes_the_secrets_and_only_the_api_server_the_auth_file(compose):
    for name, service in compose["services"].items():
        mounts = {_mount(volume)[0]: volume for volume in service.get("volumes", [])}
        if "ocw-secrets" in mounts:
            assert mounts["ocw-secrets"].endswith(":ro") == (name != "airflow-secrets"), name
        if "ocw-auth" in mounts:
            assert name in {"airflow-secrets", "airflow-apiserver"}, name
    assert {"ocw-secrets", "ocw-auth"} <= set(compose["volumes"])


def test_sandbox_credentials_exist_only_under_the_sandbox_profile(compose):
    for service, env in _environments(compose):
        assert not [key for key in env if key.startswith("AIRFLOW_CONN_")], service
    text = (ROOT / "docker-compose.yaml").read_text()
    assert "sandbox-sword" not in text and "sandbox-cms" not in text
    init = compose["services"]["airflow-init"]
    assert init["depends_on"]["sandbox"] == {"condition": "service_healthy", "required": False}
    assert compose["services"]["sandbox"]["profiles"] == ["sandbox"]


def test_the_api_is_published_on_the_hosts_loopback_unless_opened_on_purpose(compose):
    assert compose["services"]["airflow-apiserver"]["ports"] == ["${OCW_API_PUBLISH:-127.0.0.1:8080}:8080"]
    published = [(name, port) for name, service in compose["services"].items() for port in service.get("ports", [])]
    assert published == [("airflow-apiserver", "${OCW_API_PUBLISH:-127.0.0.1:8080}:8080")]
