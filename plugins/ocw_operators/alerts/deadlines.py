"""Each scheduled DAG's deadline (Airflow 3.3 ``DeadlineAlert``) and what happens when a run misses it.

When a run has not finished by its deadline the scheduler queues :func:`deadline_missed`, which the triggerer
imports from this package (so it lives in ``plugins/``, importable there) and awaits; it mails (and posts to the
webhook) a "late" alert naming the DAG, the run and the deadline, with links. A run that finishes in time removes
its deadline, so nothing is sent.

The intervals are read while DAG files are parsed (the scheduler computes a run's deadline when it creates the run)
from environment variables ``OCW_DEADLINE_HOURS_<DAG_ID>`` (e.g. ``OCW_DEADLINE_HOURS_EXTERNAL_RESOURCE_CHECK=8``),
not Airflow Variables: a Variable-backed interval (``VariableInterval``) that is unset or not whole seconds makes
the scheduler fail to create the DAG's runs at all, which would silence the DAG it is meant to watch. A bad value
fails the DAG file's import with a message naming the variable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

from ocw_operators.alerts.messages import render_deadline_missed, run_links, ui_base_url
from ocw_operators.alerts.sending import deliver

ENV_PREFIX = "OCW_DEADLINE_HOURS_"
MAX_HOURS = 24 * 14


@dataclass(frozen=True)
class DeadlinePolicy:
    hours: float
    from_logical_date: bool  # False: from when the run was queued
    expectation: str  # what "on time" means, for the message; {hours} is filled in


DEADLINES: Mapping[str, DeadlinePolicy] = {
    # The weekly check of every link: 6 h after it was queued.
    "external_resource_check": DeadlinePolicy(6, False, "finished within {hours:g} h of being queued"),
    # The 18:00 load must be done before staff arrive: 06:00 local, 12 h after its scheduled time (the logical
    # date of a CronTriggerTimetable run). On the nights the clocks change this is 05:00 or 07:00 local.
    "tivoli_nightly_load": DeadlinePolicy(12, True, "finished {hours:g} h after its 18:00 start time (06:00 local)"),
    "dspace_oai_harvest": DeadlinePolicy(2, False, "finished within {hours:g} h of being queued"),
    "ocw_course_retirement": DeadlinePolicy(6, False, "finished within {hours:g} h of being queued"),
    "tivoli_dropbox_prep": DeadlinePolicy(1, False, "finished within {hours:g} h (before the next hourly run)"),
    "wayback_status_update": DeadlinePolicy(6, False, "finished within {hours:g} h (before the next run)"),
    # Captures go at SPN2's rate (one every ~9 s by default): a day covers about 9,000 submissions.
    "wayback_submit": DeadlinePolicy(24, False, "finished within {hours:g} h of being queued"),
    "archive_attention": DeadlinePolicy(1, False, "finished within {hours:g} h of being queued"),
}


def deadline_hours(dag_id: str, environ: Mapping[str, str] = os.environ) -> float:
    """The DAG's deadline in hours: ``OCW_DEADLINE_HOURS_<DAG_ID>`` if set, else its default."""
    name = ENV_PREFIX + dag_id.upper()
    raw = (environ.get(name) or "").strip()
    if not raw:
        return DEADLINES[dag_id].hours
    try:
        hours = float(raw)
    except ValueError:
        hours = math.nan
    if not (0 < hours <= MAX_HOURS):
        raise ValueError(f"{name}={raw!r} must be a number of hours, greater than 0 and at most {MAX_HOURS}")
    return hours


def deadline_for(dag_id: str, environ: Mapping[str, str] = os.environ) -> DeadlineAlert:
    """The ``deadline=`` of a scheduled DAG (no I/O: only the environment is read)."""
    policy = DEADLINES[dag_id]
    hours = deadline_hours(dag_id, environ)
    reference = (
        DeadlineReference.DAGRUN_LOGICAL_DATE if policy.from_logical_date else DeadlineReference.DAGRUN_QUEUED_AT
    )
    return DeadlineAlert(
        reference=reference,
        interval=dt.timedelta(hours=hours),
        callback=AsyncCallback(deadline_missed, kwargs={"expectation": policy.expectation.format(hours=hours)}),
        name=f"{dag_id} late",
    )


def deadline_email_fields(context: Mapping[str, Any], expectation: str) -> dict[str, Any]:
    """From the context the scheduler gives a deadline callback (the run as the REST API shows it)."""
    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    if isinstance(deadline, str):
        deadline = dt.datetime.fromisoformat(deadline)
    when = f"{deadline:%Y-%m-%d %H:%M} UTC" if isinstance(deadline, dt.datetime) else str(deadline)
    dag_id, run_id = str(run.get("dag_id", "?")), str(run.get("dag_run_id") or run.get("run_id") or "?")
    return {"dag_id": dag_id, "run_id": run_id, "deadline": when, "expectation": expectation,
            "state": str(run.get("state", "unknown"))}  # fmt: skip


async def deadline_missed(context: dict[str, Any] | None = None, expectation: str = "") -> str:
    """The deadline callback (run by the triggerer): mail the late run; returns the subject for the callback log."""
    fields = deadline_email_fields(context or {}, expectation)
    links = run_links(ui_base_url(), fields["dag_id"], fields["run_id"])
    email = render_deadline_missed(**fields, links=links)
    # Blocking work (Variables, Connections, SMTP) in a thread: the triggerer's event loop serves other triggers.
    await asyncio.to_thread(deliver, email, kind="deadline_missed", facts=fields, links=links)
    return email.subject
