"""Process management of the local cluster: bounded waits and clean-up that leaves nothing running.

These need no services and run in every tier (they are not marked ``integration``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.integration.cluster import ClusterError, ManagedProcess, stop_processes, wait_until

# A parent that ignores SIGTERM and a grandchild in the same process group that does too.
STUBBORN = (
    "import signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "child = subprocess.Popen([sys.executable, '-c', "
    '\'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print("child up", flush=True); '
    "time.sleep(600)'])\n"
    "print('parent up', child.pid, flush=True)\n"
    "time.sleep(600)\n"
)
POLITE = "import time\nprint('parent up', flush=True)\ntime.sleep(600)\n"


def _started(tmp_path, name: str, code: str) -> ManagedProcess:
    process = ManagedProcess(name, [sys.executable, "-c", code], dict(os.environ), tmp_path / f"{name}.log")
    process.start()
    wait_until(
        lambda: True if "up" in process.tail() else None, timeout_s=20, interval_s=0.1, what=name, check=lambda: None
    )
    return process


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it is not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_sigterm_stops_a_well_behaved_group_without_escalation(tmp_path):
    process = _started(tmp_path, "polite", POLITE)
    assert stop_processes([process], grace_s=10) == []
    assert not process.group_alive()
    assert process.popen.returncode == -signal.SIGTERM


def test_groups_that_ignore_sigterm_are_killed_after_the_grace_period(tmp_path):
    process = _started(tmp_path, "stubborn", STUBBORN)
    wait_until(
        lambda: True if "child up" in process.tail() else None,
        timeout_s=20,
        interval_s=0.1,
        what="grandchild",
        check=lambda: None,
    )
    child_pid = int(next(line for line in process.tail().splitlines() if line.startswith("parent up")).split()[2])
    started = time.monotonic()

    assert stop_processes([process], grace_s=1.0) == ["stubborn"]

    assert time.monotonic() - started < 10
    assert not process.group_alive()
    assert not _alive(child_pid)


def test_wait_until_is_bounded_and_checks_the_cluster_each_round():
    with pytest.raises(ClusterError, match="timed out after 0s waiting for nothing"):
        wait_until(lambda: None, timeout_s=0.3, interval_s=0.05, what="nothing", check=lambda: None)

    def broken() -> None:
        raise ClusterError("scheduler exited with 1")

    with pytest.raises(ClusterError, match="scheduler exited"):
        wait_until(lambda: None, timeout_s=30, what="anything", check=broken)


def test_wait_until_returns_the_first_result():
    answers = iter([None, None, "ready"])
    assert wait_until(lambda: next(answers), timeout_s=5, interval_s=0.01, what="x", check=lambda: None) == "ready"
