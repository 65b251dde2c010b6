"""IBM Spectrum Protect (Tivoli Storage Manager) ``dsmc`` command lines and their output.

The command is always an argv list, never a shell string: file names with spaces, quotes or ``;`` reach
``dsmc`` as data. Output is written to a file and parsed line by line, so a load of many thousand files does
not hold its output in memory. ``dsmc`` return codes: 0 every object processed; 4 some objects skipped
(e.g. not found); 8 warnings, some objects failed; 12 errors (session failed, nothing can be trusted).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DSMC_COMMAND = "dsmc"
RC_SUCCESS, RC_SKIPPED, RC_WARNINGS, RC_ERRORS = 0, 4, 8, 12
MAX_DESCRIPTION_CHARS = 254
_SECRET_OPTIONS = ("-password=",)
_KILL_GRACE_SECONDS = 10

_SENT = re.compile(r"^\s*Normal File-->\s+(?P<size>[\d,.]+)\s+(?P<path>.+?)\s+\[Sent\]\s*$")
_RETRIEVED = re.compile(r"^\s*Retrieving\s+(?P<size>[\d,.]+)\s+(?P<source>.+?)\s+-->\s+(?P<dest>.+?)\s+\[Done\]\s*$")
_MESSAGE = re.compile(r"^\s*(?P<code>ANS\d{4}[EWSI])\s+(?P<text>.*)$")
_QUOTED_PATH = re.compile(r"'(?P<path>[^']+)'")
_SUMMARY = re.compile(r"^\s*Total number of (?P<name>[a-z ]+):\s+(?P<value>\S.*?)\s*$")


class DsmcCommandError(ValueError):
    """The configured dsmc command cannot be used."""


def command_prefix(command: str | Sequence[str]) -> list[str]:
    """The configured command as argv (``"dsmc"``, ``"/opt/tivoli/tsm/client/ba/bin/dsmc"``, ...)."""
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    if not argv or not argv[0]:
        raise DsmcCommandError("the dsmc command is empty")
    return argv


def clean_description(text: str) -> str:
    """dsmc descriptions are at most 254 characters and must not carry quotes or control characters."""
    cleaned = "".join(char for char in text if char.isprintable() and char not in "\"'")
    return cleaned[:MAX_DESCRIPTION_CHARS]


def archive_argv(prefix: Sequence[str], staging_root: Path, description: str) -> list[str]:
    """``dsmc archive "<staging>/*" -subdir=yes -description=...`` over the whole staging area."""
    filespec = f"{staging_root}{os.sep}*"
    return [*prefix, "archive", filespec, "-subdir=yes", f"-description={clean_description(description)}"]


def retrieve_argv(prefix: Sequence[str], source: str, destination: str, description: str) -> list[str]:
    """``dsmc retrieve <archived file> <destination file> -description=...`` for one archived version."""
    return [*prefix, "retrieve", source, destination, f"-description={clean_description(description)}", "-replace=yes"]


def redact(argv: Sequence[str]) -> list[str]:
    """The argv with option values that are secrets replaced (for logs and the load batch record)."""
    return [
        next((f"{option}***" for option in _SECRET_OPTIONS if part.lower().startswith(option)), part) for part in argv
    ]


@dataclass
class DsmcRun:
    return_code: int | None  # None: killed after the timeout
    output_path: Path
    timed_out: bool = False


def run_dsmc(
    argv: Sequence[str],
    *,
    output_path: Path,
    timeout_seconds: float,
    heartbeat: Callable[[], None] | None = None,
    heartbeat_seconds: float = 30.0,
) -> DsmcRun:
    """Run dsmc with stdin closed (it must never wait for a prompt) and kill its whole group on timeout.

    ``heartbeat`` is called while dsmc runs (to keep a lease alive); if it raises, dsmc is stopped.
    """
    with open(output_path, "wb") as output:
        try:
            # An argv list from configuration, never a shell string.
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise DsmcCommandError(f"cannot start {argv[0]!r}: {error.strerror or error}") from error
        deadline = time.monotonic() + timeout_seconds
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _kill_group(process)
                    return DsmcRun(None, output_path, timed_out=True)
                try:
                    return DsmcRun(process.wait(timeout=min(remaining, heartbeat_seconds)), output_path)
                except subprocess.TimeoutExpired:
                    if heartbeat is not None:
                        heartbeat()
        except BaseException:
            _kill_group(process)  # a lost lease or a killed task must not leave dsmc running
            raise


def _kill_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=_KILL_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def read_lines(path: Path) -> Iterable[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            yield line.rstrip("\r\n")


def _number(text: str) -> int:
    return int(text.replace(",", "").replace(".", ""))


@dataclass
class ArchiveOutput:
    sent: list[tuple[str, int]] = field(default_factory=list)  # (path, size) of every "Normal File--> [Sent]"
    failed: list[str] = field(default_factory=list)  # paths named in ANS...E messages
    messages: list[str] = field(default_factory=list)  # ANS messages, for the batch record
    summary: dict[str, str] = field(default_factory=dict)


def parse_archive_output(lines: Iterable[str], *, max_messages: int = 50) -> ArchiveOutput:
    parsed = ArchiveOutput()
    for line in lines:
        if match := _SENT.match(line):
            parsed.sent.append((match["path"], _number(match["size"])))
        elif match := _MESSAGE.match(line):
            if len(parsed.messages) < max_messages:
                parsed.messages.append(line.strip())
            quoted = _QUOTED_PATH.search(match["text"]) if match["code"].endswith("E") else None
            if quoted and quoted["path"] not in parsed.failed[-3:]:  # one failure is often told twice
                parsed.failed.append(quoted["path"])
        elif match := _SUMMARY.match(line):
            parsed.summary[match["name"].strip()] = match["value"]
    return parsed


@dataclass
class RetrieveOutput:
    retrieved: list[tuple[str, str, int]] = field(default_factory=list)  # (source, destination, size)
    messages: list[str] = field(default_factory=list)


def parse_retrieve_output(lines: Iterable[str], *, max_messages: int = 50) -> RetrieveOutput:
    parsed = RetrieveOutput()
    for line in lines:
        if match := _RETRIEVED.match(line):
            parsed.retrieved.append((match["source"], match["dest"], _number(match["size"])))
        elif _MESSAGE.match(line) and len(parsed.messages) < max_messages:
            parsed.messages.append(line.strip())
    return parsed
