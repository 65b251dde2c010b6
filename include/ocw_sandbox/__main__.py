"""Run sandbox services from the command line until Ctrl-C or SIGTERM.

    python -m ocw_sandbox linkfarm --ports 9100-9299 --latency-ms 100
    python -m ocw_sandbox linkfarm --ephemeral 200        # 200 ports chosen by the OS

Once a service listens it prints one JSON line, ``{"service": ..., "host": "127.0.0.1", "ports": [...], ...}``,
so scripts (the benchmarks) can read where it is and know it is ready.

Adding a service: write ``_add_<name>_arguments(parser)`` and ``_start_<name>(runtime, args) -> dict`` (bind the
app with ``runtime.serve``/``serve_many`` and return what to announce), then ``register(SandboxService(...))``
in the "Services" section below. An ``all`` command can then start every registered service with its defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocw_sandbox.demo import start_demo
from ocw_sandbox.linkfarm import make_linkfarm_app
from ocw_sandbox.mail import Mailbox, make_mail_app, smtp_protocol_factory
from ocw_sandbox.runtime import LOOPBACK, SandboxRuntime

MAX_PORTS = 5000


@dataclass(frozen=True)
class SandboxService:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    start: Callable[[SandboxRuntime, argparse.Namespace], dict[str, Any]]


SERVICES: dict[str, SandboxService] = {}


def register(service: SandboxService) -> None:
    if service.name in SERVICES:
        raise ValueError(f"sandbox service {service.name!r} is registered twice")
    SERVICES[service.name] = service


def parse_ports(spec: str) -> list[int]:
    """``"9100-9299"``, ``"9100,9105"`` or a mix, in order and without duplicates."""
    ports: list[int] = []
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a port or port range: {part!r}") from None
        if not 1 <= low <= high <= 65535:
            raise argparse.ArgumentTypeError(f"ports must be 1-65535, low-high: {part!r}")
        ports.extend(range(low, high + 1))
    unique = list(dict.fromkeys(ports))
    if not unique:
        raise argparse.ArgumentTypeError("no ports given")
    if len(unique) > MAX_PORTS:
        raise argparse.ArgumentTypeError(f"at most {MAX_PORTS} ports")
    return unique


def _port_count(value: str) -> int:
    count = int(value)
    if not 1 <= count <= MAX_PORTS:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_PORTS}")
    return count


# --- Services -----------------------------------------------------------------------------------------------


def _add_linkfarm_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--ports", type=parse_ports, help="ports to bind, e.g. 9100-9299 (each port is one host)")
    where.add_argument("--ephemeral", type=_port_count, metavar="N", help="bind N ports chosen by the OS")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request (default 0)")


def _start_linkfarm(runtime: SandboxRuntime, args: argparse.Namespace) -> dict[str, Any]:
    if args.latency_ms < 0:
        raise SystemExit("--latency-ms must not be negative")
    ports = args.ports or [0] * args.ephemeral
    bound = runtime.serve_many(make_linkfarm_app(latency_s=args.latency_ms / 1000), ports)
    return {"service": "linkfarm", "host": LOOPBACK, "ports": bound, "latency_ms": args.latency_ms}


register(
    SandboxService(
        name="linkfarm",
        help="web hosts for the link checker: /ok, /status/<code>, /redirect/<n>, /hang, /reset, ...",
        add_arguments=_add_linkfarm_arguments,
        start=_start_linkfarm,
    )
)


def _add_mail_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--smtp-port", type=int, default=0, help="SMTP port (default: one chosen by the OS)")
    parser.add_argument("--http-port", type=int, default=0, help="port of the received-mail page (default: any)")
    parser.add_argument("--mail-dir", type=Path, default=Path("var/sandbox/mail"), help="where .eml files go")
    parser.add_argument("--login", help="the only SMTP login accepted (with --password); default: no AUTH needed")
    parser.add_argument("--password", help="its password")


def _start_mail(runtime: SandboxRuntime, args: argparse.Namespace) -> dict[str, Any]:
    if bool(args.login) != bool(args.password):
        raise SystemExit("give --login and --password together")
    mailbox = Mailbox(args.mail_dir.resolve())
    smtp_port = runtime.serve_protocol(smtp_protocol_factory(mailbox, args.login, args.password), args.smtp_port)
    http_port = runtime.serve(make_mail_app(mailbox), args.http_port)
    return {"service": "mail", "host": LOOPBACK, "smtp_port": smtp_port, "page": f"http://{LOOPBACK}:{http_port}/",
            "mail_dir": str(mailbox.directory)}  # fmt: skip


register(
    SandboxService(
        name="mail",
        help="SMTP server keeping each message as an .eml file, and a page listing them (alert mail)",
        add_arguments=_add_mail_arguments,
        start=_start_mail,
    )
)


def _add_all_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path("var/sandbox"), help="demo data and spool files")
    parser.add_argument("--endpoints-file", type=Path, help="write the endpoints, Connections and Variables here")
    parser.add_argument(
        "--connections-file",
        type=Path,
        help="write the sandbox Connections here for Airflow's LocalFilesystemBackend (the compose sandbox profile)",
    )
    parser.add_argument("--host", default=LOOPBACK, help="bind address (0.0.0.0 only inside the compose container)")
    parser.add_argument("--public-host", help="host name clients use (default: the bind address)")


def _write_private(path: Path, text: str) -> None:
    """Atomically, readable by the owner only: the file holds the sandbox credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(partial, 0o600)
    partial.replace(path)


def _start_all(runtime: SandboxRuntime, args: argparse.Namespace) -> dict[str, Any]:
    endpoints = start_demo(runtime, args.data_dir.resolve(), host=args.host, public_host=args.public_host)
    if args.connections_file:
        _write_private(args.connections_file, json.dumps(endpoints.connections, indent=2))
    if args.endpoints_file:
        # Written last and atomically: its presence means every service is listening.
        partial = args.endpoints_file.with_suffix(".tmp")
        partial.write_text(endpoints.to_json())
        partial.replace(args.endpoints_file)
    return {"service": "all", **endpoints.urls}


register(
    SandboxService(
        name="all",
        help="every service on fixed ports with demo content (make run, the compose sandbox)",
        add_arguments=_add_all_arguments,
        start=_start_all,
    )
)

# --- Command line -------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocw_sandbox", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="service", required=True, metavar="SERVICE")
    for service in SERVICES.values():
        service.add_arguments(commands.add_parser(service.name, help=service.help))
    return parser


def _raise_open_file_limit() -> None:
    """Hundreds of ports, each with keep-alive connections, outgrow a 1024-descriptor default."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _raise_open_file_limit()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with SandboxRuntime() as runtime:
        announcement = SERVICES[args.service].start(runtime, args)
        print(json.dumps(announcement), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
