"""Airflow Connections for tests, defined the way a deployment's secrets backend hands them to the hooks."""

from __future__ import annotations

import json
from typing import Any

import pytest


def define_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str, **fields: Any) -> None:
    """Connection ``conn_id`` for this test only: ``AIRFLOW_CONN_<ID>`` as JSON (host, login, password, extra ...)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, **fields}))
