"""Client-side helpers for tests and benchmarks: inject and clear sandbox faults."""

from __future__ import annotations

from typing import Any

import requests

from ocw_sandbox.faults import CONTROL_PREFIX


def inject_fault(base_url: str, route: str, kind: str, **options: Any) -> None:
    """Ask the sandbox service at ``base_url`` to misbehave on ``route`` (see ``ocw_sandbox.faults``)."""
    response = requests.post(
        f"{base_url.rstrip('/')}{CONTROL_PREFIX}/faults", json={"route": route, "kind": kind, **options}, timeout=5
    )
    response.raise_for_status()


def clear_faults(base_url: str) -> None:
    requests.delete(f"{base_url.rstrip('/')}{CONTROL_PREFIX}/faults", timeout=5).raise_for_status()
