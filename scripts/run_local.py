"""``make run``: the whole package on one machine, reachable from this machine only.

Writes ``var/airflow/airflow.cfg`` (SQLite metadata DB, LocalExecutor, every server on 127.0.0.1; the Fernet key,
JWT secret and API secret key are generated once and kept), migrates the archive DB (``var/archive.db``), starts
the sandbox servers, creates pools, sandbox Connections and dev Variables, loads demo data, then runs Airflow's
components as ``airflow standalone`` would: api-server (UI on 127.0.0.1:8080), scheduler, dag-processor and
triggerer, plus one log server for both the workers and the triggerer.

``airflow standalone`` is not used because it cannot be made to listen on loopback only (its scheduler and
triggerer start log servers that bind every interface, and Airflow has no setting for their address) and it
shuts down only on a KeyboardInterrupt, leaving the LocalExecutor workers and log servers behind on SIGTERM.

Ctrl-C, SIGTERM or SIGHUP stops every process the launcher started, within 30 s: each component runs in its own
process group, signalled as one (SIGTERM, then SIGKILL after a grace period), and the launcher is a child
subreaper, so processes that left their group (task processes, ``dsmc``) are found and stopped too. A second
Ctrl-C skips the grace period.

Environment: ``OCW_UI_HOST`` (default 127.0.0.1; 0.0.0.0 opens the UI and REST API to the network),
``OCW_UI_PORT`` (8080), ``OCW_LOG_SERVER_PORT`` (8793), ``OCW_VAR_DIR`` (default ``var/``).
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
DEV_VARIABLES = ROOT / "include" / "dev" / "variables.json"
LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 15.0  # SIGTERM to SIGKILL; the whole stop stays under 30 s
SWEEP_GRACE_S = 4.0
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
# Resolved once in the parent: a child must not load libraries between fork and exec.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


@dataclass(frozen=True)
class Layout:
    """Where ``make run`` keeps its state and which addresses it serves on."""

    var: Path
    ui_host: str = LOOPBACK
    ui_port: int = 8080
    log_server_port: int = 8793

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Layout:
        return cls(
            var=Path(environ.get("OCW_VAR_DIR") or ROOT / "var").resolve(),
            ui_host=environ.get("OCW_UI_HOST", "").strip() or LOOPBACK,
            ui_port=int(environ.get("OCW_UI_PORT", "8080")),
            log_server_port=int(environ.get("OCW_LOG_SERVER_PORT", "8793")),
        )

    @property
    def airflow_home(self) -> Path:
        return self.var / "airflow"

    @property
    def archive_db_url(self) -> str:
        return f"sqlite:///{self.var / 'archive.db'}"

    @property
    def sandbox_endpoints(self) -> Path:
        return self.var / "sandbox.json"

    @property
    def local_url(self) -> str:
        """How processes on this machine reach the API server (also when it listens on every interface)."""
        host = LOOPBACK if self.ui_host in {"0.0.0.0", "::", "127.0.0.1", "localhost"} else self.ui_host
        return f"http://{host}:{self.ui_port}"


# --- configuration ------------------------------------------------------------------------------------------


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


# Generated on the first start and kept: the Fernet key encrypts the Connections in the metadata DB, the JWT secret
# signs UI, REST API and task tokens, the API secret key signs sessions.
SECRET_OPTIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("core", "fernet_key"): _fernet_key,
    ("api_auth", "jwt_secret"): lambda: secrets.token_urlsafe(48),
    ("api", "secret_key"): lambda: secrets.token_urlsafe(32),
}


def airflow_settings(layout: Layout) -> dict[tuple[str, str], str]:
    """Every setting ``make run`` relies on, besides the secrets."""
    home = layout.airflow_home
    return {
        ("core", "dags_folder"): str(ROOT / "dags"),
        ("core", "plugins_folder"): str(ROOT / "plugins"),
        ("core", "executor"): "LocalExecutor",
        ("core", "load_examples"): "False",
        ("core", "dags_are_paused_at_creation"): "True",
        ("core", "test_connection"): "Enabled",  # the Test button on Admin → Connections
        # An archive DB URL written into a Connection's extra may carry a password: mask it in the UI and API.
        ("core", "sensitive_var_conn_names"): "sqlalchemy_url",
        ("core", "execution_api_server_url"): f"{layout.local_url}/execution/",
        # Task instances and triggers record this host name; the API server fetches their live logs from it.
        ("core", "hostname_callable"): "ocw_operators.worker_identity.hostname",
        ("database", "sql_alchemy_conn"): f"sqlite:///{home / 'airflow.db'}",
        ("api", "host"): layout.ui_host,
        ("api", "port"): str(layout.ui_port),
        ("logging", "base_log_folder"): str(home / "logs"),
        # One loopback log server (started by this launcher) serves worker and trigger logs alike.
        ("logging", "worker_log_server_port"): str(layout.log_server_port),
        ("logging", "trigger_log_server_port"): str(layout.log_server_port),
        # Its server would bind every interface; make run does not need it.
        ("scheduler", "enable_health_check"): "False",
        ("scheduler", "scheduler_health_check_server_host"): LOOPBACK,
    }


def write_airflow_cfg(layout: Layout) -> Path:
    """Write ``$AIRFLOW_HOME/airflow.cfg`` (mode 0600) so the ``airflow`` CLI sees what the components see.

    The secrets of an existing file are kept (a new Fernet key would make the stored Connections unreadable);
    everything else is rewritten from :func:`airflow_settings`.
    """
    home = layout.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    path = home / "airflow.cfg"
    existing = configparser.ConfigParser(interpolation=None, strict=False)
    if path.exists():
        existing.read(path, encoding="utf-8")
    config = configparser.ConfigParser(interpolation=None)
    values = dict(airflow_settings(layout))
    for (section, key), generate in SECRET_OPTIONS.items():
        values[(section, key)] = existing.get(section, key, fallback="").strip() or generate()
    for (section, key), value in values.items():
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, key, value)
    partial = path.with_suffix(".cfg.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(
            "# Written by `make run` (scripts/run_local.py) at every start: edit the script, not this file.\n"
            "# The secrets below were generated on the first start and are kept.\n"
        )
        config.write(handle)
    os.chmod(partial, 0o600)
    partial.replace(path)
    return path


def airflow_env(layout: Layout) -> dict[str, str]:
    """The environment of every Airflow process: the same settings as airflow.cfg, overriding stray
    ``AIRFLOW__...`` variables of the calling shell (the secrets stay in the file only)."""
    env = os.environ.copy()
    for name in [name for name in env if name.startswith("AIRFLOW__") and name.endswith(("_CMD", "_SECRET"))]:
        del env[name]
    env.update(
        {
            "AIRFLOW_HOME": str(layout.airflow_home),
            "AIRFLOW_CONFIG": str(layout.airflow_home / "airflow.cfg"),
            "OCW_WORKER_HOSTNAME": LOOPBACK,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include"), str(ROOT)]),
            # Airflow starts task processes as `airflow ...` subprocesses: the venv must be on PATH.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        }
    )
    for (section, key), value in airflow_settings(layout).items():
        env[f"AIRFLOW__{section.upper()}__{key.upper()}"] = value
    return env


# --- processes ----------------------------------------------------------------------------------------------


class Shutdown(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: stop everything."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _child_setup() -> None:
    """In the child, after ``setsid``: get SIGTERM if the launcher dies, even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def become_subreaper() -> bool:
    """Orphans of our descendants are re-parented to us instead of init, so stop() can still find them."""
    if _PRCTL is None:
        return False
    return _PRCTL(_PR_SET_CHILD_SUBREAPER, 1) == 0


@dataclass
class Component:
    """One long-running command in its own process group; its output is echoed with a name prefix."""

    name: str
    argv: list[str]
    popen: subprocess.Popen | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

    def start(self, env: Mapping[str, str], output_lock: threading.Lock) -> None:
        self.popen = subprocess.Popen(
            self.argv,
            env=dict(env),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # out of the terminal's process group: Ctrl-C reaches the launcher only
            preexec_fn=_child_setup,  # noqa: PLW1509  (one prctl call, no locks, no imports)
        )
        self.reader = threading.Thread(target=self._echo, args=(output_lock,), name=self.name, daemon=True)
        self.reader.start()

    def _echo(self, lock: threading.Lock) -> None:
        assert self.popen is not None and self.popen.stdout is not None
        for raw in self.popen.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip()
            with lock:
                print(f"{self.name:13} | {line}", flush=True)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signum)

    def group_alive(self) -> bool:
        if self.popen is None:
            return False
        self.popen.poll()
        return _group_has_live_members(self.popen.pid)


def _group_has_live_members(pgid: int) -> bool:
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):  # the process ended while we looked
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def _live_descendants() -> list[psutil.Process]:
    alive = []
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
    return alive


def reap_orphans(managed: set[int]) -> None:
    """Collect exited processes re-parented to the subreaper (never a component: Popen reaps those)."""
    for child in psutil.Process().children():
        if child.pid in managed:
            continue
        with contextlib.suppress(psutil.Error, ChildProcessError):
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)


class Supervisor:
    """Starts the components and stops every process they started."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.components: list[Component] = []
        self.output_lock = threading.Lock()
        self.hurry = threading.Event()

    def start(self, name: str, argv: list[str]) -> Component:
        component = Component(name, argv)
        self.components.append(component)
        component.start(self.env, self.output_lock)
        return component

    def managed_pids(self) -> set[int]:
        return {c.popen.pid for c in self.components if c.popen is not None}

    def exited(self) -> Component | None:
        return next((c for c in self.components if c.popen is not None and not c.running), None)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM each process group, SIGKILL what is left after ``grace_s``, then stop every remaining
        descendant (processes that moved to a group or session of their own)."""
        for component in reversed(self.components):
            component.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and not self.hurry.is_set() and any(c.group_alive() for c in self.components):
            time.sleep(0.2)
        for component in self.components:
            if component.group_alive():
                self._say(f"{component.name} did not stop in time; killing it")
                component.signal_group(signal.SIGKILL)
        self._sweep()
        for component in self.components:
            if component.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    component.popen.wait(timeout=5)
        reap_orphans(set())

    def _sweep(self) -> None:
        for signum, wait_s in ((signal.SIGTERM, SWEEP_GRACE_S), (signal.SIGKILL, 3.0)):
            left = _live_descendants()
            if not left:
                return
            for process in left:
                with contextlib.suppress(psutil.Error):
                    process.send_signal(signum)
            deadline = time.monotonic() + (0 if self.hurry.is_set() and signum == signal.SIGTERM else wait_s)
            while time.monotonic() < deadline and _live_descendants():
                reap_orphans(self.managed_pids())
                time.sleep(0.1)
            reap_orphans(self.managed_pids())

    def _say(self, message: str) -> None:
        with self.output_lock:
            print(f"{'make run':13} | {message}", flush=True)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def shutdown_signals(supervisor: Supervisor) -> Iterator[Callable[[], None]]:
    """Turn SIGINT/SIGTERM/SIGHUP into :class:`Shutdown` in the main thread. Yields ``stopping()``: from then
    on (and after the first signal) a signal only asks the supervisor to hurry, so it cannot cut a stop short."""
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}

    def stopping() -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda *_: supervisor.hurry.set())

    def request(signum: int, _frame: object) -> None:
        stopping()
        raise Shutdown(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, request)
    try:
        yield stopping
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(args: list[str], env: Mapping[str, str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, env=dict(env), cwd=ROOT, stdin=subprocess.DEVNULL)


def check_ports_free(host: str, ports: list[int]) -> None:
    """Fail before starting anything when another process (an earlier `make run`?) holds a port."""
    busy = []
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(port)
    if busy:
        raise SystemExit(f"port(s) {', '.join(map(str, busy))} on {host} are in use: is `make run` already running?")


def wait_for(probe: Callable[[], bool], supervisor: Supervisor, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        broken = supervisor.exited()
        if broken is not None:
            raise SystemExit(f"{broken.name} exited during start-up (code {broken.popen.returncode}); see above")
        if time.monotonic() >= deadline:
            raise SystemExit(f"{what} did not become ready within {timeout_s:.0f}s")
        time.sleep(0.5)


def _ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def write_connections(layout: Layout, endpoints: dict, path: Path) -> None:
    connections = {
        "ocw_archive_db": {"conn_type": "ocw_archive_db", "extra": {"sqlalchemy_url": layout.archive_db_url}}
    }
    connections.update(endpoints.get("connections", {}))
    _write_private(path, json.dumps(connections, indent=2))


def _write_private(path: Path, text: str) -> None:
    """Files holding sandbox credentials are readable by their owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def serve_logs(port: int) -> None:
    """The worker/trigger log server, bound to loopback (Airflow's own binds every interface)."""
    import uvicorn  # noqa: PLC0415  (only the log-server process needs it)

    uvicorn.run(
        "airflow.utils.serve_logs.log_server:get_app",
        host=LOOPBACK,
        port=port,
        log_config=None,
        access_log=False,
        factory=True,
    )


def dev_variables(endpoints: dict) -> dict[str, dict[str, str]]:
    """``include/dev/variables.json`` (every Variable, its description for the UI, the development values) with
    the sandbox's paths filled in, in ``airflow variables import``'s ``{"KEY": {"value", "description"}}`` form."""
    variables = json.loads(DEV_VARIABLES.read_text())
    for key, value in endpoints.get("variables", {}).items():
        variables[key] = {**variables.get(key, {}), "value": str(value)}
    return variables


def prepare(layout: Layout, supervisor: Supervisor) -> dict:
    """Everything before the Airflow components start; returns the sandbox endpoints."""
    env, python, var = supervisor.env, sys.executable, layout.var
    run([python, "-m", "ocw_operators", "--db-url", layout.archive_db_url, "db", "upgrade"], env)
    layout.sandbox_endpoints.unlink(missing_ok=True)
    supervisor.start(
        "sandbox",
        [python, "-m", "ocw_sandbox", "all", "--endpoints-file", str(layout.sandbox_endpoints),
         "--data-dir", str(var)],
    )  # fmt: skip
    wait_for(layout.sandbox_endpoints.exists, supervisor, 60, "the sandbox")
    endpoints = json.loads(layout.sandbox_endpoints.read_text())
    wait_for(lambda: _ready(endpoints["ready_url"]), supervisor, 30, "the sandbox")
    env.update(endpoints.get("environment", {}))
    run([python, "-m", "airflow", "db", "migrate"], env)
    run([python, "-m", "airflow", "pools", "import", str(ROOT / "include" / "pools.json")], env)
    connections_file = var / "connections.json"
    write_connections(layout, endpoints, connections_file)
    run([python, "-m", "airflow", "connections", "import", "--overwrite", str(connections_file)], env)
    variables_file = var / "variables.json"
    variables_file.write_text(json.dumps(dev_variables(endpoints), indent=2))
    run([python, "-m", "airflow", "variables", "import", "--action-on-existing-key", "overwrite",
         str(variables_file)], env)  # fmt: skip
    if endpoints.get("demo_resources"):
        run([python, "-m", "ocw_operators", "--db-url", layout.archive_db_url, "resources", "import",
             endpoints["demo_resources"]], env)  # fmt: skip
    return endpoints


def start_airflow(layout: Layout, supervisor: Supervisor) -> None:
    airflow = [sys.executable, "-m", "airflow"]
    supervisor.start("log-server", [sys.executable, str(Path(__file__).resolve()), "serve-logs"])
    supervisor.start("api-server", [*airflow, "api-server", "--host", layout.ui_host, "--port", str(layout.ui_port)])
    supervisor.start("scheduler", [*airflow, "scheduler", "--skip-serve-logs"])
    supervisor.start("dag-processor", [*airflow, "dag-processor"])
    supervisor.start("triggerer", [*airflow, "triggerer", "--skip-serve-logs"])


def banner(layout: Layout) -> str:
    passwords = layout.airflow_home / "simple_auth_manager_passwords.json.generated"
    try:
        password = json.loads(passwords.read_text()).get("admin", "?")
    except (OSError, ValueError):
        password = f"(see {passwords})"
    where = (
        f"listening on {layout.ui_host} only: this machine"
        if layout.ui_host == LOOPBACK
        else f"listening on {layout.ui_host}: reachable from the network"
    )
    return (
        f"\nAirflow is ready on {layout.local_url}/ ({where}).\n"
        f"Log in as 'admin' with the password {password} (stored in {passwords}).\n"
        "DAGs start paused: unpause one in the UI and trigger it. Ctrl-C stops Airflow and the sandbox.\n"
        f"Alert mail (failures, late runs, the daily digest) goes to the sandbox mailbox: {SANDBOX_MAILBOX_URL}\n"
        f"CLI: AIRFLOW_HOME={layout.airflow_home} {Path(sys.executable).parent / 'airflow'} dags list\n"
    )


# The sandbox's received-mail page (ocw_sandbox.demo.PORTS["mail"]): alerts end up there.
SANDBOX_MAILBOX_URL = "http://127.0.0.1:8706/"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    layout = Layout.from_environment()
    if argv[:1] == ["serve-logs"]:
        serve_logs(layout.log_server_port)
        return 0
    check_ports_free(layout.ui_host, [layout.ui_port])
    check_ports_free(LOOPBACK, [layout.log_server_port])
    layout.var.mkdir(parents=True, exist_ok=True)
    write_airflow_cfg(layout)
    if layout.ui_host != LOOPBACK:
        print(f"WARNING: the UI and REST API listen on {layout.ui_host}, not only on this machine.", flush=True)
    become_subreaper()
    supervisor = Supervisor(airflow_env(layout))
    code = 0
    with shutdown_signals(supervisor) as stopping:
        try:
            prepare(layout, supervisor)
            start_airflow(layout, supervisor)
            wait_for(lambda: _ready(f"{layout.local_url}/api/v2/monitor/health"), supervisor, 180, "the API server")
            with supervisor.output_lock:
                print(banner(layout), flush=True)
            while (broken := supervisor.exited()) is None:
                reap_orphans(supervisor.managed_pids())
                time.sleep(0.5)
            print(f"{broken.name} exited (code {broken.popen.returncode}); stopping everything", flush=True)
            code = 1
        except Shutdown as request:
            print(f"\n{request}: stopping every process make run started ...", flush=True)
            code = 128 + request.signum
        except (SystemExit, subprocess.CalledProcessError) as error:
            print(f"make run failed: {error}", file=sys.stderr, flush=True)
            code = 1
        finally:
            stopping()
            supervisor.stop()
    print("make run: stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
