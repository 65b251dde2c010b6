"""Conventions shared by every DAG: owner, retries with exponential backoff, timeouts.

DAG files pass ``default_args=task_defaults(...)`` and override per task only where a task differs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

OWNER = "digital-library-archiving"
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def task_defaults(
    *,
    retries: int = 3,
    retry_delay: dt.timedelta = dt.timedelta(minutes=2),
    max_retry_delay: dt.timedelta = dt.timedelta(hours=1),
    execution_timeout: dt.timedelta = dt.timedelta(hours=1),
    pool: str = "archive_db",
    **overrides: Any,
) -> dict[str, Any]:
    """``default_args`` for a DAG: every task retries with backoff (2x, capped) and has a timeout."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": max_retry_delay,
        "execution_timeout": execution_timeout,
        "pool": pool,
        **overrides,
    }
