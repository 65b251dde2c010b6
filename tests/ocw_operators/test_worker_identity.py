"""The hostname Celery workers report for their task instances."""

from __future__ import annotations

import socket

from ocw_operators import worker_identity


def test_configured_name_wins(monkeypatch):
    monkeypatch.setenv(worker_identity.HOSTNAME_ENV, "  ocw-worker-2 ")
    assert worker_identity.hostname() == "ocw-worker-2"


def test_falls_back_to_the_fqdn_when_unset_or_blank(monkeypatch):
    monkeypatch.delenv(worker_identity.HOSTNAME_ENV, raising=False)
    assert worker_identity.hostname() == socket.getfqdn()
    monkeypatch.setenv(worker_identity.HOSTNAME_ENV, "   ")
    assert worker_identity.hostname() == socket.getfqdn()


def test_airflow_resolves_it_as_the_hostname_callable(monkeypatch):
    from airflow.sdk.api.client import get_hostname

    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "ocw_operators.worker_identity.hostname")
    monkeypatch.setenv(worker_identity.HOSTNAME_ENV, "ocw-worker-1")
    assert get_hostname() == "ocw-worker-1"
