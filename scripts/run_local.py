"""``make run``: the whole package on one machine.

Initialises an AIRFLOW_HOME under ``var/airflow`` (SQLite metadata DB), migrates the archive DB
(``var/archive.db``), starts the sandbox servers, creates pools, sandbox Connections and dev Variables, loads demo
data, then runs ``airflow standalone`` (api-server with the UI on :8080, scheduler, dag-processor, triggerer;
LocalExecutor). Ctrl-C stops everything it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
AIRFLOW_HOME = VAR / "airflow"
ARCHIVE_DB_URL = f"sqlite:///{VAR / 'archive.db'}"
SANDBOX_ENDPOINTS = VAR / "sandbox.json"
UI_PORT = int(os.environ.get("OCW_UI_PORT", "8080"))


def airflow_env() -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
            "AIRFLOW__API__PORT": str(UI_PORT),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{UI_PORT}/execution/",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include"), str(ROOT)]),
            # `airflow standalone` starts its components as `airflow ...` subprocesses: the venv must be on PATH.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        }
    )
    return env


def run(args: list[str], env: dict[str, str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, env=env)


def wait_for_sandbox(process: subprocess.Popen, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the sandbox exited during start-up; see its output above")
        if SANDBOX_ENDPOINTS.exists():
            endpoints = json.loads(SANDBOX_ENDPOINTS.read_text())
            try:
                requests.get(endpoints["ready_url"], timeout=2).raise_for_status()
                return endpoints
            except requests.RequestException:
                pass
        time.sleep(0.5)
    raise SystemExit("the sandbox did not become ready in time")


def write_connections(endpoints: dict, path: Path) -> None:
    connections = {"ocw_archive_db": {"conn_type": "ocw_archive_db", "extra": {"sqlalchemy_url": ARCHIVE_DB_URL}}}
    connections.update(endpoints.get("connections", {}))
    path.write_text(json.dumps(connections, indent=2))


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> int:
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    env = airflow_env()
    python = sys.executable
    run([python, "-m", "ocw_operators", "--db-url", ARCHIVE_DB_URL, "db", "upgrade"], env)
    SANDBOX_ENDPOINTS.unlink(missing_ok=True)
    sandbox = subprocess.Popen(
        [python, "-m", "ocw_sandbox", "all", "--endpoints-file", str(SANDBOX_ENDPOINTS), "--data-dir", str(VAR)],
        env=env,
        start_new_session=True,
    )
    standalone = None
    try:
        endpoints = wait_for_sandbox(sandbox)
        env.update(endpoints.get("environment", {}))
        run([python, "-m", "airflow", "db", "migrate"], env)
        run([python, "-m", "airflow", "pools", "import", str(ROOT / "include" / "pools.json")], env)
        connections_file = VAR / "connections.json"
        write_connections(endpoints, connections_file)
        run([python, "-m", "airflow", "connections", "import", "--overwrite", str(connections_file)], env)
        variables = json.loads((ROOT / "include" / "dev" / "variables.json").read_text())
        variables.update(endpoints.get("variables", {}))
        variables_file = VAR / "variables.json"
        variables_file.write_text(json.dumps(variables, indent=2))
        run([python, "-m", "airflow", "variables", "import", "--action-on-existing-key", "overwrite",
             str(variables_file)], env)  # fmt: skip
        if endpoints.get("demo_resources"):
            run([python, "-m", "ocw_operators", "--db-url", ARCHIVE_DB_URL, "resources", "import",
                 endpoints["demo_resources"]], env)  # fmt: skip
        print(
            f"\nStarting Airflow on http://localhost:{UI_PORT}/ . Log in as 'admin'; the generated password is "
            f"printed below and stored in {AIRFLOW_HOME / 'simple_auth_manager_passwords.json.generated'}.\n"
            "DAGs start paused: unpause one in the UI and trigger it. Ctrl-C stops Airflow and the sandbox.\n",
            flush=True,
        )
        standalone = subprocess.Popen([python, "-m", "airflow", "standalone"], env=env, start_new_session=True)
        return standalone.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(standalone)
        stop(sandbox)


if __name__ == "__main__":
    sys.exit(main())
