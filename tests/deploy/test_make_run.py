"""``make run``'s launcher at run time: started on a pseudo-terminal as a person starts it, checked while it runs,
then stopped with Ctrl-C.

One launcher serves the whole module (about a minute to start on 2 cores). It uses make run's fixed ports
(8080, 8793, 8701-8706, 8710-8729) with its state in a temporary ``OCW_VAR_DIR``. Every process it started is
tracked (its session, plus a snapshot of its process tree taken while it runs) and killed at the end whatever
happened, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import pty
import select
import signal
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import psutil
import pytest
import requests

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
UI = "http://127.0.0.1:8080"
PORTS = [8080, 8793, 8701, 8702, 8703, 8704, 8705, 8706, *range(8710, 8730)]
LOOPBACK_ADDRESSES = {"127.0.0.1", "::1"}
# Secrets that have been published as defaults (this project's compose file, the integration tier, Airflow's own
# compose file and docs): a deployment must accept none of them.
KNOWN_DEFAULT_SECRETS = [
    "change-me-ocw-jwt-secret",
    "ocw-local-cluster-jwt-secret",
    "airflow_jwt_secret",
    "secret",
    "changeme",
]
START_TIMEOUT_S = 240
STOP_BUDGET_S = 30
PORTS_FREE_WAIT_S = 30

pytestmark = [pytest.mark.make_run, pytest.mark.timeout(START_TIMEOUT_S + 120)]


@dataclass
class Launch:
    pid: int
    fd: int
    var: Path
    output: bytearray = field(default_factory=bytearray)
    seen: dict[int, float] = field(default_factory=dict)  # pid -> create time of every process in the tree
    exit_status: int | None = None

    def text(self, tail: int = 6000) -> str:
        return self.output[-tail:].decode("utf-8", errors="replace")

    def alive(self) -> bool:
        if self.exit_status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status = status
        return self.exit_status is None

    def snapshot(self) -> list[psutil.Process]:
        """The launcher's process tree now; every member is remembered for the final check."""
        try:
            tree = [psutil.Process(self.pid), *psutil.Process(self.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for process in tree:
            with contextlib.suppress(psutil.Error):
                self.seen.setdefault(process.pid, process.create_time())
        return tree

    def leftovers(self) -> list[psutil.Process]:
        """Processes still running from this launch: its session (pty.fork made the launcher a session leader)
        and every process ever seen in its tree (a process that moved to a session of its own included)."""
        left = {}
        for process in psutil.process_iter(["pid", "create_time", "status"]):
            with contextlib.suppress(psutil.Error, OSError):
                if process.info["status"] == psutil.STATUS_ZOMBIE or process.pid == self.pid:
                    continue
                in_session = os.getsid(process.pid) == self.pid
                seen = self.seen.get(process.pid) == process.info["create_time"]
                if in_session or seen:
                    left[process.pid] = process
        return list(left.values())


def _pump(launch: Launch, stop: threading.Event) -> None:
    """Drain the pseudo-terminal so the launcher never blocks on a full buffer."""
    while not stop.is_set():
        ready, _, _ = select.select([launch.fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(launch.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            launch.output.extend(chunk)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _healthy() -> bool:
    try:
        return requests.get(f"{UI}/api/v2/monitor/health", timeout=2).ok
    except requests.RequestException:
        return False


def _kill_everything(launch: Launch) -> None:
    for process in [*launch.leftovers(), *([psutil.Process(launch.pid)] if launch.alive() else [])]:
        with contextlib.suppress(psutil.Error):
            process.kill()
    with contextlib.suppress(ChildProcessError):
        if launch.alive():
            os.waitpid(launch.pid, 0)


@pytest.fixture(scope="module")
def launch(tmp_path_factory) -> Iterator[Launch]:
    # Another module's launch (the Archive browser test) may still be closing its sockets: give it a moment.
    deadline = time.monotonic() + PORTS_FREE_WAIT_S
    while (busy := [port for port in PORTS if _port_open(port)]) and time.monotonic() < deadline:
        time.sleep(1)
    require_service("make run's ports", not busy, f"in use: {busy}; stop the running `make run` first")
    var = tmp_path_factory.mktemp("make-run-var")
    env = {**os.environ, "OCW_VAR_DIR": str(var), "OCW_TEST_LAUNCH": uuid.uuid4().hex, "TERM": "dumb"}
    env.pop("AIRFLOW_HOME", None)  # the launcher sets its own; the test session's must not leak in
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session with the pseudo-terminal as its controlling terminal
        try:
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, str(ROOT / "scripts" / "run_local.py")], env)
        finally:
            os._exit(127)
    launch = Launch(pid=pid, fd=fd, var=var)
    stop_pump = threading.Event()
    pump = threading.Thread(target=_pump, args=(launch, stop_pump), daemon=True)
    pump.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (_healthy() and b"Airflow is ready" in launch.output):
            assert launch.alive(), f"the launcher exited during start-up:\n{launch.text()}"
            assert time.monotonic() < deadline, f"not ready after {START_TIMEOUT_S}s:\n{launch.text()}"
            launch.snapshot()
            time.sleep(1)
        launch.snapshot()
        yield launch
    finally:
        _kill_everything(launch)
        stop_pump.set()
        pump.join(timeout=5)
        os.close(fd)


def _listening_sockets(launch: Launch) -> dict[int, set[str]]:
    pids = {process.pid for process in launch.snapshot()}
    sockets: dict[int, set[str]] = {}
    for connection in psutil.net_connections(kind="inet"):
        if connection.status == psutil.CONN_LISTEN and connection.pid in pids:
            sockets.setdefault(connection.laddr.port, set()).add(connection.laddr.ip)
    return sockets


def test_every_listening_socket_of_the_process_tree_is_loopback(launch):
    sockets = _listening_sockets(launch)
    # The API server, the one log server, and the sandbox: everything make run serves.
    assert {8080, 8793, 8701, 8702, 8703, 8704, 8705, 8706, 8710, 8729} <= set(sockets), sockets
    exposed = {port: addresses for port, addresses in sockets.items() if not addresses <= LOOPBACK_ADDRESSES}
    assert exposed == {}, f"listening beyond loopback: {exposed}"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the default secrets are short
def test_the_api_refuses_tokens_signed_with_known_default_secrets(launch):
    config = configparser.ConfigParser(interpolation=None)
    config.read(launch.var / "airflow" / "airflow.cfg")
    secret = config.get("api_auth", "jwt_secret")
    assert secret not in KNOWN_DEFAULT_SECRETS and len(secret) >= 32

    def status_with(key: str) -> int:
        now = int(time.time())
        claims = {"sub": "admin", "role": "ADMIN", "aud": "apache-airflow", "jti": uuid.uuid4().hex,
                  "iat": now, "nbf": now, "exp": now + 300}  # fmt: skip
        token = jwt.encode(claims, key, algorithm="HS512")
        return requests.get(f"{UI}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code

    assert status_with(secret) == 200  # the same token signed with the real secret is accepted
    refused = {key: status_with(key) for key in KNOWN_DEFAULT_SECRETS}
    assert {key: code in {401, 403} for key, code in refused.items()} == dict.fromkeys(KNOWN_DEFAULT_SECRETS, True)


def test_secrets_are_private_and_connection_passwords_encrypted_at_rest(launch):
    home = launch.var / "airflow"
    assert (home / "airflow.cfg").stat().st_mode & 0o077 == 0
    assert (launch.var / "connections.json").stat().st_mode & 0o077 == 0
    with contextlib.closing(sqlite3.connect(home / "airflow.db")) as db:
        stored, encrypted = db.execute(
            "SELECT password, is_encrypted FROM connection WHERE conn_id = 'dspace_sword_default'"
        ).fetchone()
    assert encrypted and stored and "sandbox-sword-secret" not in stored


def test_demo_volumes_wait_in_the_tivoli_dropbox(launch):
    dropbox = launch.var / "tivoli" / "DROPBOX"
    assert sorted(path.name for path in dropbox.iterdir()) == [
        "UF00001234", "UF00001234_00001", "UF00005678_00001", "UF00009012",
    ]  # fmt: skip


def test_ctrl_c_stops_every_process_and_frees_the_ports(launch):
    tree = launch.snapshot()
    assert len(tree) >= 7, "expected the launcher, sandbox, log server, api-server, scheduler, ... to run"
    os.write(launch.fd, b"\x03")  # Ctrl-C on the terminal: SIGINT to its foreground process group
    deadline = time.monotonic() + STOP_BUDGET_S
    while (launch.alive() or launch.leftovers()) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [(p.pid, " ".join(p.cmdline())[:100]) for p in launch.leftovers() if p.is_running()]
    assert not launch.alive(), f"the launcher still runs {STOP_BUDGET_S}s after Ctrl-C:\n{launch.text()}"
    assert left == [], f"left behind after Ctrl-C:\n{left}"
    assert [port for port in PORTS if _port_open(port)] == []
    assert b"make run: stopped." in launch.output
    assert os.WIFEXITED(launch.exit_status) or os.WTERMSIG(launch.exit_status) == signal.SIGINT
