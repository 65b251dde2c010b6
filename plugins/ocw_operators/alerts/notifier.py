"""The failure notifier on every task: one message when a task has failed for good.

Airflow calls ``on_failure_callback`` only when no retry follows (retries exhausted, or a failure that is not
retried); a failed try that will be retried calls ``on_retry_callback``, which no task here sets, so a flaky task
that recovers sends nothing and a task that fails three times sends one message.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier

from ocw_operators.alerts.messages import (
    FailureReport,
    Link,
    error_excerpt,
    render_failure,
    run_links,
    task_log_url,
    ui_base_url,
)
from ocw_operators.alerts.sending import deliver


def failure_report(context: Any) -> FailureReport:
    """The facts of a failure from a task's callback context (no Airflow access beyond the context)."""
    ti = context["ti"]
    base = ui_base_url()
    map_index = getattr(ti, "map_index", -1)
    map_index = -1 if map_index is None else map_index
    # The TaskInstance's own log_url (the UI's task page at this try) when it has one, else the same page built here.
    log_url = getattr(ti, "log_url", None) or task_log_url(base, ti.dag_id, ti.run_id, ti.task_id, map_index)
    task = context.get("task") or getattr(ti, "task", None)
    retries = getattr(task, "retries", 0) or 0
    dag_run = context.get("dag_run")
    return FailureReport(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=map_index,
        try_number=getattr(ti, "try_number", 0) or 0,
        max_tries=retries + 1,
        error=error_excerpt(context.get("exception")),
        links=(Link("Task log", log_url), *run_links(base, ti.dag_id, ti.run_id)),
        logical_date=getattr(dag_run, "logical_date", None),
    )


class ArchiveFailureNotifier(BaseNotifier):
    """Mails (and posts to the webhook, if configured) the failure of a task whose retries are exhausted."""

    template_fields = ()  # nothing is rendered: an error message is not a template

    def notify(self, context: Any) -> None:
        report = failure_report(context)
        facts = {"dag_id": report.dag_id, "run_id": report.run_id, "task_id": report.task_id,
                 "map_index": report.map_index, "try_number": report.try_number, "error": report.error}  # fmt: skip
        deliver(render_failure(report), kind="task_failed", facts=facts, links=list(report.links))


def notifies_failures(callbacks: Any) -> bool:
    """True when a task's ``on_failure_callback`` (one callable or a list) includes the failure notifier."""
    items = callbacks if isinstance(callbacks, list | tuple) else [callbacks]
    return any(isinstance(item, ArchiveFailureNotifier) for item in items)
