"""Conventions shared by every DAG: owner, retries with exponential backoff, timeouts, the failure notifier, and
the schedules' timezone.

DAG files pass ``default_args=task_defaults(...)`` and override per task only where a task differs. Cron schedules
are timetables built with ``timezone=DAG_TIMEZONE``, and each DAG's ``doc_md`` goes through :func:`dag_doc`, which
names that timezone.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ocw_operators.alerts.notifier import ArchiveFailureNotifier

OWNER = "digital-library-archiving"
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# The library's local time: the Tivoli tool's working hours and the night-time checks are wall-clock times there.
TIMEZONE_ENV = "OCW_DAG_TIMEZONE"
DEFAULT_TIMEZONE = "America/New_York"


def dag_timezone(environ: Mapping[str, str] = os.environ) -> str:
    """The IANA timezone every cron schedule runs in: ``OCW_DAG_TIMEZONE``, else America/New_York.

    Read from the process environment (never an Airflow Variable: it is needed while DAG files are parsed).
    An unknown name raises, so the DAG files show an import error instead of quietly running in UTC.
    """
    name = (environ.get(TIMEZONE_ENV) or "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{TIMEZONE_ENV}={name!r} is not a known IANA timezone name (e.g. America/New_York, UTC)"
        ) from None
    return name


DAG_TIMEZONE = dag_timezone()


def dag_doc(doc: str | None, timezone: str = DAG_TIMEZONE) -> str:
    """A DAG file's docstring for ``doc_md``, with the timezone its schedule's times are in."""
    note = (
        f"**Timezone**: schedule times are wall-clock times in `{timezone}` (daylight saving time included), "
        f"set for every DAG by the `{TIMEZONE_ENV}` environment variable (default `{DEFAULT_TIMEZONE}`). "
        "The UI shows run times in the timezone chosen in its user settings."
    )
    return f"{(doc or '').rstrip()}\n\n{note}\n"


def task_defaults(
    *,
    retries: int = 3,
    retry_delay: dt.timedelta = dt.timedelta(minutes=2),
    max_retry_delay: dt.timedelta = dt.timedelta(hours=1),
    execution_timeout: dt.timedelta = dt.timedelta(hours=1),
    pool: str = "archive_db",
    **overrides: Any,
) -> dict[str, Any]:
    """``default_args`` for a DAG: every task retries with backoff (2x, capped), has a timeout, and mails the
    operators when it has failed for good (the failure notifier; never on a retry)."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": max_retry_delay,
        "execution_timeout": execution_timeout,
        "pool": pool,
        "on_failure_callback": [ArchiveFailureNotifier()],
        **overrides,
    }
