"""The compose deployment's secrets outside Docker: scripts/deploy_secrets.py against a temporary directory, and
Airflow configured as docker-compose.yaml configures it (``_CMD`` settings reading those files, the
LocalFilesystemBackend) against a temporary metadata DB."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet, InvalidToken

from scripts import deploy_secrets as ds

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy_secrets.py"
PRODUCTION = {
    "dspace_sword_default": {"conn_type": "dspace_sword", "host": "https://dspace.example.edu", "login": "sword",
                             "password": "sword-password-from-the-vault", "extra": {"sword_version": 2}},
    "dspace_oai_default": {"conn_type": "dspace_oai", "host": "https://dspace.example.edu/oai/request"},
    "ocw_cms_default": {"conn_type": "ocw_cms", "host": "https://cms.example.edu", "login": "cms", "password": "c"},
    "wayback_default": {"conn_type": "wayback_spn2", "host": "https://web.archive.org", "login": "k", "password": "s"},
    "smtp_default": {"conn_type": "smtp", "host": "smtp.example.edu", "port": 587, "login": "archive",
                     "password": "smtp-password-from-the-vault", "extra": {"from_email": "archive@example.edu"}},
}  # fmt: skip


def _generate(tmp_path: Path) -> tuple[Path, Path]:
    secrets_dir, auth_dir = tmp_path / "secrets", tmp_path / "auth"
    assert ds.main(["generate", "--dir", str(secrets_dir), "--auth-dir", str(auth_dir)]) == 0
    return secrets_dir, auth_dir


def test_generate_writes_every_secret_once_readable_by_its_owner_only(tmp_path):
    secrets_dir, auth_dir = _generate(tmp_path)
    values = {name: (secrets_dir / name).read_text().strip() for name in ds.REQUIRED_FILES}
    for name in ds.REQUIRED_FILES:
        assert (secrets_dir / name).stat().st_mode & 0o777 == 0o400, name
    assert (auth_dir / ds.ADMIN_PASSWORDS).stat().st_mode & 0o777 == 0o600
    assert secrets_dir.stat().st_mode & 0o777 == 0o751  # no service can list the directory
    Fernet(values[ds.FERNET_KEY].encode())
    assert len(values[ds.JWT_SECRET]) >= 48 and len(values[ds.POSTGRES_PASSWORD]) >= 24
    password = values[ds.POSTGRES_PASSWORD]
    assert values[ds.SQL_ALCHEMY_CONN] == f"postgresql+psycopg2://airflow:{password}@postgres/airflow"
    archive = json.loads(values[ds.ARCHIVE_DB_CONNECTION])["ocw_archive_db"]
    assert (archive["password"], archive["schema"]) == (password, "ocw_archive")
    admin = json.loads((auth_dir / ds.ADMIN_PASSWORDS).read_text())["admin"]

    _generate(tmp_path)  # every start of the stack runs it again: nothing changes
    assert {name: (secrets_dir / name).read_text().strip() for name in ds.REQUIRED_FILES} == values
    assert json.loads((auth_dir / ds.ADMIN_PASSWORDS).read_text())["admin"] == admin
    assert _generate(tmp_path / "other")[0].joinpath(ds.FERNET_KEY).read_text() != values[ds.FERNET_KEY] + "\n"


def test_check_refuses_to_start_with_missing_secrets(tmp_path, capsys):
    assert ds.main(["check", "--dir", str(tmp_path / "nothing")]) == 1
    assert "docker compose up airflow-secrets airflow-init" in capsys.readouterr().err
    secrets_dir, _ = _generate(tmp_path)
    assert ds.main(["check", "--dir", str(secrets_dir)]) == 0
    (secrets_dir / ds.JWT_SECRET).unlink()
    assert ds.main(["check", "--dir", str(secrets_dir)]) == 1
    assert "jwt_secret" in capsys.readouterr().err


# --- Airflow against the generated secrets, configured like docker-compose.yaml ------------------------------


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Secrets, a migrated metadata DB (SQLite stands in for PostgreSQL) and the compose file's settings."""
    tmp = tmp_path_factory.mktemp("deployment")
    secrets_dir, _ = _generate(tmp)
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["x-airflow-common"]["environment"]
    home = tmp / "airflow"
    home.mkdir()
    connections_file = tmp / "connections.json"
    connections_file.write_text(json.dumps(PRODUCTION))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include"), str(ROOT)]),
            # exactly the compose settings, pointed at the temporary files
            "AIRFLOW__CORE__FERNET_KEY_CMD": compose["AIRFLOW__CORE__FERNET_KEY_CMD"].replace(
                "/opt/airflow/secrets", str(secrets_dir)
            ),
            "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(connections_file)}),
        }
    )
    airflow(env, "db", "migrate")
    # the init service's step: the archive DB Connection into the metadata DB
    airflow(env, "connections", "import", "--overwrite", str(secrets_dir / ds.ARCHIVE_DB_CONNECTION))
    return {"env": env, "secrets": secrets_dir, "db": home / "airflow.db", "connections": connections_file}


def airflow(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def _stored(db: Path, conn_id: str) -> tuple[str, bool]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        password, encrypted = connection.execute(
            "SELECT password, is_encrypted FROM connection WHERE conn_id = ?", (conn_id,)
        ).fetchone()
    return password, bool(encrypted)


def test_connection_passwords_are_encrypted_at_rest_with_the_generated_key(deployment):
    secrets_dir = deployment["secrets"]
    plaintext = (secrets_dir / ds.POSTGRES_PASSWORD).read_text().strip()
    stored, encrypted = _stored(deployment["db"], "ocw_archive_db")
    assert encrypted and stored != plaintext and plaintext not in stored
    key = (secrets_dir / ds.FERNET_KEY).read_text().strip()
    assert Fernet(key.encode()).decrypt(stored.encode()).decode() == plaintext


def test_production_connections_come_from_the_secrets_backend_file(deployment):
    env = deployment["env"]
    shown = json.loads(airflow(env, "connections", "get", "dspace_sword_default", "-o", "json").stdout)
    assert shown[0]["host"] == "https://dspace.example.edu"
    checked = subprocess.run(
        [sys.executable, str(SCRIPT), "check-connections", *PRODUCTION, "ocw_archive_db"],
        check=False, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr[-3000:]
    # nothing from the file was copied into the metadata DB
    with contextlib.closing(sqlite3.connect(deployment["db"])) as connection:
        assert connection.execute("SELECT conn_id FROM connection").fetchall() == [("ocw_archive_db",)]


def test_a_missing_production_connection_is_a_clear_start_up_error(deployment, tmp_path):
    partial = tmp_path / "connections.json"
    partial.write_text(json.dumps({k: v for k, v in PRODUCTION.items() if k != "wayback_default"}))
    env = {**deployment["env"], "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(partial)})}
    checked = subprocess.run(
        [sys.executable, str(SCRIPT), "check-connections"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 1
    assert "wayback_default" in checked.stderr and "dspace_sword_default" not in checked.stderr
    assert "connections/connections.json" in checked.stderr and "--profile sandbox" in checked.stderr


def test_fernet_key_rotation_as_the_readme_describes(deployment):
    env, secrets_dir, db = deployment["env"], deployment["secrets"], deployment["db"]
    plaintext = (secrets_dir / ds.POSTGRES_PASSWORD).read_text().strip()
    old_key = (secrets_dir / ds.FERNET_KEY).read_text().strip()
    assert ds.main(["add-fernet-key", "--dir", str(secrets_dir)]) == 0
    new_key = (secrets_dir / ds.FERNET_KEY).read_text().strip().split(",")[0]
    airflow(env, "rotate-fernet-key")
    assert ds.main(["retire-old-fernet-keys", "--dir", str(secrets_dir)]) == 0
    assert (secrets_dir / ds.FERNET_KEY).read_text().strip() == new_key != old_key
    stored, _ = _stored(db, "ocw_archive_db")
    assert Fernet(new_key.encode()).decrypt(stored.encode()).decode() == plaintext
    with pytest.raises(InvalidToken):
        Fernet(old_key.encode()).decrypt(stored.encode())
    shown = json.loads(airflow(env, "connections", "get", "ocw_archive_db", "-o", "json").stdout)
    assert shown[0]["password"] == plaintext  # Airflow reads it with the new key alone


def test_the_sandbox_connections_file_is_private_and_readable_by_the_secrets_backend(tmp_path):
    from airflow.secrets.local_filesystem import load_connections_dict

    from ocw_sandbox.__main__ import _write_private
    from ocw_sandbox.demo import SWORD_PASSWORD, _connection

    path = tmp_path / "sandbox" / "connections.json"
    sword = _connection("dspace_sword", "http://sandbox:8702", "sandbox-sword", SWORD_PASSWORD, collections={})
    _write_private(path, json.dumps({"dspace_sword_default": sword}))
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_connections_dict(str(path))["dspace_sword_default"]
    assert (loaded.host, loaded.password) == ("http://sandbox:8702", SWORD_PASSWORD)
