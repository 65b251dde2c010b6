"""Deadlines: each scheduled DAG's interval and reference, the environment override, and the missed-deadline
callback run the way the triggerer runs it (``CallbackTrigger``), mailing the late run to the sandbox SMTP server."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from ocw_operators.alerts.deadlines import DEADLINES, deadline_for, deadline_hours


def test_the_documented_deadlines():
    from airflow.sdk.definitions.deadline import DagRunLogicalDateDeadline, DagRunQueuedAtDeadline

    check, load, harvest = (deadline_for(d, {}) for d in ("external_resource_check", "tivoli_nightly_load",
                                                           "dspace_oai_harvest"))  # fmt: skip
    assert isinstance(check.reference, DagRunQueuedAtDeadline) and check.interval == dt.timedelta(hours=6)
    # 18:00 local + 12 h = 06:00 local: the load's logical date is its 18:00 schedule time.
    assert isinstance(load.reference, DagRunLogicalDateDeadline) and load.interval == dt.timedelta(hours=12)
    assert isinstance(harvest.reference, DagRunQueuedAtDeadline) and harvest.interval == dt.timedelta(hours=2)


def test_an_environment_variable_sets_a_deadline_and_a_bad_one_names_itself():
    assert deadline_for("dspace_oai_harvest", {"OCW_DEADLINE_HOURS_DSPACE_OAI_HARVEST": "3.5"}).interval == (
        dt.timedelta(hours=3.5)
    )
    for bad in ("0", "-1", "two", "nan", "1000"):
        with pytest.raises(ValueError, match="OCW_DEADLINE_HOURS_DSPACE_OAI_HARVEST"):
            deadline_hours("dspace_oai_harvest", {"OCW_DEADLINE_HOURS_DSPACE_OAI_HARVEST": bad})
    assert set(DEADLINES) >= {"external_resource_check", "tivoli_nightly_load", "dspace_oai_harvest"}


def _scheduler_context(run_id: str) -> dict:
    """What ``Deadline.handle_miss`` puts in the callback's kwargs (the run as the REST API returns it)."""
    return {
        "dag_run": {"dag_id": "tivoli_nightly_load", "dag_run_id": run_id, "state": "running",
                    "queued_at": "2026-11-29T23:00:00+00:00", "logical_date": "2026-11-29T23:00:00+00:00"},
        "deadline": {"id": "0192", "deadline_time": "2026-11-30T11:00:00+00:00"},
    }  # fmt: skip


def test_a_missed_deadline_mails_the_late_run_through_the_triggerers_callback_trigger(mail_sandbox):
    from airflow.triggers.callback import CallbackTrigger

    alert = deadline_for("tivoli_nightly_load", {})
    run_id = "scheduled__2026-11-29T23:00:00+00:00"
    trigger = CallbackTrigger(alert.callback.path, {**alert.callback.kwargs, "context": _scheduler_context(run_id)})

    async def run_trigger() -> list:
        return [event.payload async for event in trigger.run()]

    events = asyncio.run(run_trigger())
    assert [event["state"] for event in events] == ["running", "success"], events

    [message] = mail_sandbox.messages()
    assert message["Subject"] == (
        f"[ocw-archive] Late: tivoli_nightly_load ({run_id}) not finished by 2026-11-30 11:00 UTC"
    )
    body = message.get_body(preferencelist=("html",)).get_content()
    assert "finished 12 h after its 18:00 start time (06:00 local)" in body and "running" in body
    assert f"/dags/tivoli_nightly_load/runs/{quote(run_id)}" in body and "/archive/tivoli" in body
    if keep := os.environ.get("OCW_KEEP_ALERT_MAIL"):
        shutil.copy(mail_sandbox.mailbox.messages()[0].path, Path(keep) / "deadline.eml")
