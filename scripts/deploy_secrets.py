"""The compose deployment's secrets: generated once, kept in a volume, readable only by the services that use them.

    python deploy_secrets.py generate --dir /opt/airflow/secrets --auth-dir /opt/airflow/auth --uid 50000
    python deploy_secrets.py check --dir /opt/airflow/secrets          # exit 1 with the reason when any is missing
    python deploy_secrets.py check-connections                          # every production Connection resolves
    python deploy_secrets.py add-fernet-key --dir ...                   # step 1 of a key rotation
    python deploy_secrets.py retire-old-fernet-keys --dir ...           # step 3, after `airflow rotate-fernet-key`

``generate`` (the ``airflow-secrets`` service, before anything else starts) writes each missing secret and never
changes an existing one: a new Fernet key would make every stored Connection password unreadable, a new database
password would lock Airflow out of its own database. Airflow reads them through ``AIRFLOW__..._CMD`` settings
(``cat <file>``), PostgreSQL through ``POSTGRES_PASSWORD_FILE``. Files are mode 0400 (the auth file 0600: the API
server locks it), owned by the Airflow user or, for the database password, by PostgreSQL's user; the directory
is 0751 so no service can list it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
from pathlib import Path

DEFAULT_DIR = Path("/opt/airflow/secrets")
DEFAULT_AUTH_DIR = Path("/opt/airflow/auth")
POSTGRES_UID = 999  # the postgres user of the official postgres image
DB_USER, DB_HOST, DB_NAME, ARCHIVE_DB_NAME = "airflow", "postgres", "airflow", "ocw_archive"
# The secrets every Airflow service needs; the files the compose file's _CMD settings read.
FERNET_KEY, JWT_SECRET, API_SECRET_KEY = "fernet_key", "jwt_secret", "api_secret_key"
POSTGRES_PASSWORD, SQL_ALCHEMY_CONN = "postgres_password", "sql_alchemy_conn"
ARCHIVE_DB_CONNECTION = "archive_db_connection.json"
ADMIN_PASSWORDS = "simple_auth_manager_passwords.json"
REQUIRED_FILES = [FERNET_KEY, JWT_SECRET, API_SECRET_KEY, POSTGRES_PASSWORD, SQL_ALCHEMY_CONN, ARCHIVE_DB_CONNECTION]
# The Connections the DAGs read (ocw_archive_db is created by the init service from the generated password).
PRODUCTION_CONNECTIONS = [
    "dspace_sword_default",
    "dspace_oai_default",
    "ocw_cms_default",
    "wayback_default",
    "smtp_default",  # failure, deadline and digest mail
]


def new_fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


GENERATORS = {
    FERNET_KEY: new_fernet_key,
    JWT_SECRET: lambda: secrets.token_urlsafe(48),
    API_SECRET_KEY: lambda: secrets.token_urlsafe(32),
    POSTGRES_PASSWORD: lambda: secrets.token_urlsafe(24),
}


def _write(path: Path, text: str, *, mode: int, uid: int | None) -> None:
    """Write ``text`` atomically with ``mode``; owned by ``uid`` (group 0) when running as root."""
    partial = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    if uid is not None and os.geteuid() == 0:
        os.chown(partial, uid, 0)
    os.chmod(partial, mode)
    partial.replace(path)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def generate(directory: Path, auth_directory: Path, uid: int | None, postgres_uid: int | None) -> list[str]:
    """Create every missing secret; returns the names created. Derived files are rewritten from the secrets."""
    created = []
    for target in (directory, auth_directory):
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, 0o751)
    for name, make in GENERATORS.items():
        path = directory / name
        if not path.exists() or not _read(path):
            owner = postgres_uid if name == POSTGRES_PASSWORD else uid
            _write(path, make() + "\n", mode=0o400, uid=owner)
            created.append(name)
    password = _read(directory / POSTGRES_PASSWORD)
    server = f"{DB_USER}:{password}@{DB_HOST}"
    _write(directory / SQL_ALCHEMY_CONN, f"postgresql+psycopg2://{server}/{DB_NAME}\n", mode=0o400, uid=uid)
    archive = {
        "ocw_archive_db": {"conn_type": "postgres", "host": DB_HOST, "login": DB_USER, "password": password,
                           "schema": ARCHIVE_DB_NAME, "port": 5432}
    }  # fmt: skip
    _write(directory / ARCHIVE_DB_CONNECTION, json.dumps(archive, indent=2) + "\n", mode=0o400, uid=uid)
    admin = auth_directory / ADMIN_PASSWORDS
    if not admin.exists():
        _write(admin, json.dumps({"admin": secrets.token_urlsafe(18)}) + "\n", mode=0o600, uid=uid)
        created.append(ADMIN_PASSWORDS)
    return created


def missing(directory: Path) -> list[str]:
    return [name for name in REQUIRED_FILES if not (directory / name).is_file() or not _read(directory / name)]


def add_fernet_key(directory: Path, uid: int | None) -> None:
    """Rotation step 1: a new key in front of the old ones. Airflow encrypts with the first and decrypts with any."""
    path = directory / FERNET_KEY
    owner = path.stat().st_uid if uid is None else uid
    _write(path, f"{new_fernet_key()},{_read(path)}\n", mode=0o400, uid=owner)


def retire_old_fernet_keys(directory: Path, uid: int | None) -> None:
    """Rotation step 3, after ``airflow rotate-fernet-key`` re-encrypted everything with the first key."""
    path = directory / FERNET_KEY
    owner = path.stat().st_uid if uid is None else uid
    _write(path, _read(path).split(",")[0] + "\n", mode=0o400, uid=owner)


def unresolved_connections(conn_ids: list[str]) -> dict[str, str]:
    """Connections the deployment cannot resolve (secrets backend, ``AIRFLOW_CONN_*``, metadata DB), with why."""
    # The server-side lookup (secrets backend, environment, metadata DB), as the API server answers a worker.
    from airflow.models.connection import Connection  # noqa: PLC0415  (only this command needs Airflow)

    problems = {}
    for conn_id in conn_ids:
        try:
            Connection.get_connection_from_secrets(conn_id)
        except Exception as error:  # any failure to resolve is reported the same way
            problems[conn_id] = f"{type(error).__name__}: {error}"
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_secrets.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("generate", "check", "add-fernet-key", "retire-old-fernet-keys"):
        command = commands.add_parser(name)
        command.add_argument("--dir", type=Path, default=DEFAULT_DIR)
        command.add_argument("--uid", type=int, help="owner of the files (the Airflow user)")
        if name == "generate":
            command.add_argument("--auth-dir", type=Path, default=DEFAULT_AUTH_DIR)
            command.add_argument("--postgres-uid", type=int, default=POSTGRES_UID)
    check_connections = commands.add_parser("check-connections")
    check_connections.add_argument("conn_ids", nargs="*", default=PRODUCTION_CONNECTIONS)
    args = parser.parse_args(argv)

    if args.command == "generate":
        created = generate(args.dir, args.auth_dir, args.uid, args.postgres_uid)
        print(f"secrets in {args.dir}: created {', '.join(created)}" if created else f"secrets in {args.dir}: kept")
    elif args.command == "check":
        if absent := missing(args.dir):
            print(
                f"error: the deployment secrets {', '.join(absent)} are missing in {args.dir}. They are generated "
                "once by the airflow-secrets service: run `docker compose up airflow-secrets airflow-init`.",
                file=sys.stderr,
            )
            return 1
        print(f"secrets in {args.dir}: complete")
    elif args.command == "add-fernet-key":
        add_fernet_key(args.dir, args.uid)
        print("new Fernet key added in front; restart the services, then run `airflow rotate-fernet-key`")
    elif args.command == "retire-old-fernet-keys":
        retire_old_fernet_keys(args.dir, args.uid)
        print("old Fernet keys removed; restart the services")
    else:
        if problems := unresolved_connections(args.conn_ids):
            print("error: these Connections are not defined for this deployment:", file=sys.stderr)
            for conn_id, reason in problems.items():
                print(f"  {conn_id}: {reason}", file=sys.stderr)
            print(
                "Define them in connections/connections.json (Airflow's LocalFilesystemBackend), in the secrets "
                "backend named by OCW_SECRETS_BACKEND, or as AIRFLOW_CONN_<ID> in .env. To run against the local "
                "protocol servers instead: docker compose --env-file sandbox.env --profile sandbox up -d.",
                file=sys.stderr,
            )
            return 1
        print(f"Connections resolved: {', '.join(args.conn_ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
