"""make run's launcher without starting Airflow: the settings that bind its servers, the generated secrets, and
how it stops a process tree (test_make_run.py runs the real thing)."""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from cryptography.fernet import Fernet

from scripts.run_local import SECRET_OPTIONS, Layout, airflow_env, airflow_settings, dev_variables, write_airflow_cfg

ROOT = Path(__file__).resolve().parents[2]


def _read(path: Path) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(path)
    return config


def test_every_server_address_setting_is_loopback_by_default(tmp_path):
    layout = Layout.from_environment({"OCW_VAR_DIR": str(tmp_path)})
    settings = airflow_settings(layout)
    assert settings[("api", "host")] == "127.0.0.1"
    assert settings[("scheduler", "scheduler_health_check_server_host")] == "127.0.0.1"
    assert settings[("scheduler", "enable_health_check")] == "False"
    assert settings[("core", "execution_api_server_url")] == "http://127.0.0.1:8080/execution/"
    # Worker and trigger logs are fetched from the launcher's loopback log server.
    assert settings[("logging", "worker_log_server_port")] == settings[("logging", "trigger_log_server_port")]


def test_opening_the_ui_is_explicit_and_keeps_tasks_on_loopback(tmp_path):
    layout = Layout.from_environment({"OCW_VAR_DIR": str(tmp_path), "OCW_UI_HOST": "0.0.0.0"})
    settings = airflow_settings(layout)
    assert settings[("api", "host")] == "0.0.0.0"
    assert settings[("core", "execution_api_server_url")] == "http://127.0.0.1:8080/execution/"


def test_launcher_starts_no_server_that_binds_every_interface():
    source = (ROOT / "scripts" / "run_local.py").read_text()
    assert '"standalone"' not in source  # its log servers bind every interface
    assert '"scheduler", "--skip-serve-logs"' in source
    assert '"triggerer", "--skip-serve-logs"' in source


def test_airflow_cfg_is_private_with_generated_secrets_that_are_kept(tmp_path):
    layout = Layout(var=tmp_path)
    path = write_airflow_cfg(layout)
    assert path.stat().st_mode & 0o777 == 0o600
    first = _read(path)
    secrets = {option: first.get(*option) for option in SECRET_OPTIONS}
    Fernet(secrets[("core", "fernet_key")].encode())  # a valid key
    assert all(len(value) >= 32 for value in secrets.values())
    assert first.get("api", "host") == "127.0.0.1"

    write_airflow_cfg(layout)
    assert {option: _read(path).get(*option) for option in SECRET_OPTIONS} == secrets
    assert (
        _read(write_airflow_cfg(Layout(var=tmp_path / "other"))).get("core", "fernet_key")
        != secrets[("core", "fernet_key")]
    )


def test_an_existing_airflow_generated_cfg_keeps_its_fernet_key_but_not_its_address(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    key = Fernet.generate_key().decode()
    (home / "airflow.cfg").write_text(f"[core]\nfernet_key = {key}\n[api]\nhost = 0.0.0.0\n")
    config = _read(write_airflow_cfg(Layout(var=tmp_path)))
    assert (config.get("core", "fernet_key"), config.get("api", "host")) == (key, "127.0.0.1")


def test_environment_matches_the_cfg_and_carries_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY_CMD", "echo stray")
    env = airflow_env(Layout(var=tmp_path))
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert not any(name.startswith(("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET")) for name in env)


# A process that ignores SIGTERM and starts a grandchild in a session of its own that ignores it too: what the
# LocalExecutor's workers and a task's `start_new_session` subprocess look like to the launcher.
STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    grandchild = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    print("pids", grandchild.pid, flush=True)
    time.sleep(600)
    """
)
HARNESS = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {root!r})
    from scripts import run_local as rl
    rl.become_subreaper()
    supervisor = rl.Supervisor(dict(os.environ))
    with rl.shutdown_signals(supervisor) as stopping:
        try:
            supervisor.start("stubborn", [sys.executable, "-c", {stubborn!r}])
            while True:
                time.sleep(0.2)
        except rl.Shutdown as request:
            print("stopping on", request, flush=True)
        finally:
            stopping()
            supervisor.stop(grace_s=2)
    print("stopped", flush=True)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_ends_the_whole_tree_even_processes_that_ignore_sigterm_and_left_the_session(signum):
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS.format(root=str(ROOT), stubborn=STUBBORN)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = harness.stdout.readline()
        assert line.startswith("stubborn      | pids "), line
        grandchild = psutil.Process(int(line.split()[-1]))
        stubborn = [p for p in psutil.Process(harness.pid).children() if p.pid != grandchild.pid]
        assert stubborn and os.getsid(grandchild.pid) != os.getsid(stubborn[0].pid)
        started = time.monotonic()
        harness.send_signal(signum)
        output = harness.communicate(timeout=30)[0]
        assert time.monotonic() - started < 30
        assert f"stopping on {signal.Signals(signum).name}" in output and output.rstrip().endswith("stopped")
        for process in [*stubborn, grandchild]:
            assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    finally:
        if harness.poll() is None:
            os.killpg(harness.pid, signal.SIGKILL)
            harness.wait()


def test_dev_variables_import_with_their_descriptions_and_the_sandbox_paths(tmp_path):
    """The file make run imports: the dev Variables in the ``{"KEY": {"value", "description"}}`` form with the
    sandbox's paths filled in, accepted by this Airflow's ``airflow variables import``."""
    sandbox = {"OCW_SITES_DIR": str(tmp_path / "sites"), "TIVOLI_DSMC_COMMAND": "/opt/fake dsmc"}
    variables = dev_variables({"variables": sandbox})
    dev = json.loads((ROOT / "include" / "dev" / "variables.json").read_text())
    assert variables.keys() == dev.keys()
    assert variables["OCW_SITES_DIR"] == {
        "value": str(tmp_path / "sites"),
        "description": dev["OCW_SITES_DIR"]["description"],
    }
    assert variables["ENABLE_WAYBACK_TASKS"] == dev["ENABLE_WAYBACK_TASKS"]

    home = tmp_path / "airflow"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"})  # fmt: skip
    variables_file = tmp_path / "variables.json"
    variables_file.write_text(json.dumps(variables, indent=2))
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=180)
    imported = subprocess.run(
        [*airflow, "variables", "import", "--action-on-existing-key", "overwrite", str(variables_file)],
        env=env, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert f"{len(variables)} of {len(variables)} variables successfully updated" in imported.stdout
    with contextlib.closing(sqlite3.connect(home / "airflow.db")) as connection:
        stored = dict(connection.execute("SELECT key, description FROM variable"))
    assert stored == {key: entry["description"] for key, entry in variables.items()}
    for key in ("OCW_SITES_DIR", "TIVOLI_DSMC_COMMAND", "ENABLE_WAYBACK_TASKS", "LINK_CHECK_BATCH_SIZE"):
        shown = subprocess.run([*airflow, "variables", "get", key], env=env, check=True, capture_output=True,
                               text=True, timeout=120)  # fmt: skip
        assert shown.stdout.strip() == variables[key]["value"], key
