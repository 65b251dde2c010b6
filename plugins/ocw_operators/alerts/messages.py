"""What alert mails say: plain functions from a run's facts to a subject and an HTML body.

Everything that came from an error or a URL goes through :func:`mask_secrets` before it is put in a message:
Airflow's secrets masker (Connection passwords and sensitive Variables this process has read), the userinfo of
URLs (``https://user:password@host/``) and query strings (legacy APIs put credentials there). Links point at the
Airflow UI (``[api] base_url``): the task's log page and the Archive pages of the API server.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from airflow.sdk._shared.secrets_masker import redact

from ocw_operators.http_support import redact_query_strings, redact_userinfo
from ocw_operators.web.links import archive_page_url, configured_base_url, run_page

ERROR_LINES = 12
ERROR_LINE_LENGTH = 300

# The Archive page about each DAG's records (served by the API server's archive plugin).
ARCHIVE_PAGES = {
    "external_resource_check": "links",
    "external_resource_import": "links",
    "wayback_submit": "links",
    "wayback_status_update": "links",
    "ocw_course_retirement": "retirements",
    "dspace_oai_harvest": "oai",
    "tivoli_dropbox_prep": "tivoli",
    "tivoli_nightly_load": "tivoli",
    "tivoli_retrieve": "tivoli",
}


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Email:
    subject: str
    html: str


@dataclass(frozen=True)
class FailureReport:
    """One task's final failure (retries exhausted or a failure that is not retried)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    max_tries: int
    error: str  # masked first lines
    links: Sequence[Link] = field(default_factory=tuple)
    logical_date: dt.datetime | None = None


def mask_secrets(text: str) -> str:
    """``text`` without known secrets, URL credentials or query strings."""
    masked = redact(text)
    masked = masked if isinstance(masked, str) else str(masked)
    return redact_query_strings(redact_userinfo(masked))


def error_excerpt(error: BaseException | str | None, lines: int = ERROR_LINES) -> str:
    """The error's type and first ``lines`` lines of its message, masked (long lines cut)."""
    if error is None:
        return "(no error was recorded; see the task log)"
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    kept = [line[:ERROR_LINE_LENGTH] for line in text.strip().splitlines()[:lines]]
    more = len(text.strip().splitlines()) - len(kept)
    if more > 0:
        kept.append(f"… {more} more line(s) in the task log")
    return mask_secrets("\n".join(kept))


def ui_base_url() -> str:
    """The Airflow UI's address as links should use it: ``[api] base_url`` (as the task log URL does)."""
    return configured_base_url() or "http://localhost:8080"


def task_log_url(base_url: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The Airflow 3 UI's task instance page (its log), as ``TaskInstance.log_url`` builds it."""
    mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
    return f"{base_url}/dags/{dag_id}/runs/{quote(run_id)}/tasks/{task_id}{mapped}"


def run_links(base_url: str, dag_id: str, run_id: str) -> list[Link]:
    """The run in the Airflow UI, the run's Archive page, and the Archive page for the DAG's records."""
    links = [
        Link("Run in Airflow", f"{base_url}/dags/{dag_id}/runs/{quote(run_id)}"),
        Link("Archive: this run", run_page(dag_id, run_id, base_url)),
    ]
    if dag_id in ARCHIVE_PAGES:
        page = ARCHIVE_PAGES[dag_id]
        links.append(Link(f"Archive: {page}", archive_page_url(page, base_url)))
    return links


def _links_html(links: Sequence[Link]) -> str:
    items = "".join(f"<li><a href='{html.escape(link.url)}'>{html.escape(link.label)}</a></li>" for link in links)
    return f"<ul>{items}</ul>"


def _facts_html(facts: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    return f"<table>{rows}</table>"


def render_failure(report: FailureReport) -> Email:
    task = report.task_id if report.map_index < 0 else f"{report.task_id}[{report.map_index}]"
    subject = f"[ocw-archive] Failed: {report.dag_id} / {task} ({report.run_id})"
    tries = f"{report.try_number} of {report.max_tries}" if report.max_tries else str(report.try_number)
    facts = [("DAG", report.dag_id), ("Run", report.run_id), ("Task", task), ("Try", tries)]
    if report.logical_date:
        facts.append(("Logical date", report.logical_date.isoformat()))
    body = (
        f"<p>A task of <b>{html.escape(report.dag_id)}</b> failed and will not be retried.</p>"
        f"{_facts_html(facts)}<h3>Error (first lines)</h3><pre>{html.escape(report.error)}</pre>"
        f"<h3>Links</h3>{_links_html(report.links)}"
    )
    return Email(subject, page_html(body))


def render_deadline_missed(
    *, dag_id: str, run_id: str, deadline: str, expectation: str, state: str, links: Sequence[Link]
) -> Email:
    subject = f"[ocw-archive] Late: {dag_id} ({run_id}) not finished by {deadline}"
    facts = [("DAG", dag_id), ("Run", run_id), ("Deadline", deadline), ("Expected", expectation), ("State", state)]
    body = (
        f"<p>The run of <b>{html.escape(dag_id)}</b> had not finished by its deadline. It may be stuck, queued "
        "behind another run, or slower than usual; it keeps running.</p>"
        f"{_facts_html(facts)}<h3>Links</h3>{_links_html(links)}"
    )
    return Email(subject, page_html(body))


def page_html(body: str) -> str:
    """An alert mail's HTML document around ``body``."""
    return f"<html><body style='font-family: sans-serif'>{body}</body></html>"
