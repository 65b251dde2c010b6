"""The hostname a worker reports for the task instances it runs (``[core] hostname_callable``).

Airflow records ``socket.getfqdn()`` by default, so several Celery workers on one machine all look like the same
host in the UI and the REST API. Point ``AIRFLOW__CORE__HOSTNAME_CALLABLE`` at :func:`hostname` and give each
worker process its own ``OCW_WORKER_HOSTNAME`` to tell them apart; without that variable the machine's FQDN is used,
exactly as Airflow does. No Airflow import: the worker calls this for every task start and heartbeat.
"""

from __future__ import annotations

import os
import socket

HOSTNAME_ENV = "OCW_WORKER_HOSTNAME"


def hostname() -> str:
    """``OCW_WORKER_HOSTNAME`` when set (stripped, non-empty), otherwise the fully qualified domain name."""
    configured = os.environ.get(HOSTNAME_ENV, "").strip()
    return configured or socket.getfqdn()
