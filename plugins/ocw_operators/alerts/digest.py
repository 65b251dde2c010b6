"""The daily attention digest: one mail listing everything in the archive DB that needs a person, or none."""

from __future__ import annotations

import datetime as dt
import html
import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from ocw_operators.alerts.attention import AttentionReport, CountWithExamples, attention_report
from ocw_operators.alerts.messages import Email, Link, mask_secrets, page_html
from ocw_operators.alerts.sending import deliver
from ocw_operators.settings import setting
from ocw_operators.text import plural
from ocw_operators.web.links import archive_page_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestThresholds:
    workflow_days: float
    held_hours: float
    recent_days: float

    @classmethod
    def from_variables(cls) -> DigestThresholds:
        return cls(
            workflow_days=setting("ATTENTION_WORKFLOW_DAYS"),
            held_hours=setting("ATTENTION_TIVOLI_HELD_HOURS"),
            recent_days=setting("ATTENTION_RECENT_DAYS"),
        )


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "unknown"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table border='1' cellpadding='3' cellspacing='0'><tr>{head}</tr>{body}</table>"


def _counts(groups: list[CountWithExamples], key: str) -> str:
    return _table([key, "count", "latest examples"], [[g.key, str(g.count), "\n".join(g.examples)] for g in groups])


def _section(title: str, count: int, link: Link, table: str) -> str:
    return (
        f"<h3>{html.escape(title)} ({count})</h3>{table}"
        f"<p><a href='{html.escape(link.url)}'>{html.escape(link.label)}</a></p>"
    )


def render_digest(report: AttentionReport, thresholds: DigestThresholds, base_url: str, today: dt.date) -> Email:
    """The digest's subject and body; every free text from the DB is masked."""
    parts, counts = [], []
    if report.retirements:
        rows = [[r.course_id, r.state, _when(r.since), mask_secrets(r.detail)] for r in report.retirements]
        title = f"Retirements in DSpace's workflow over {thresholds.workflow_days:g} days or with an unknown outcome"
        parts.append(_section(title, len(rows), Link("Archive: retirements", archive_page_url("retirements", base_url)),
                              _table(["course", "state", "since", "what to do"], rows)))  # fmt: skip
        counts.append(plural(len(rows), "retirement"))
    if report.flags:
        rows = [[f.course_id, f.flag, f.handle, _when(f.flagged_at), mask_secrets(f.reason)] for f in report.flags]
        parts.append(_section("Reconciliation flags not acknowledged", len(rows),
                              Link("Archive: OAI-PMH reconciliation", archive_page_url("oai", base_url)),
                              _table(["course", "flag", "handle", "flagged", "reason"], rows)))  # fmt: skip
        counts.append(plural(len(rows), "flag"))
    if report.held_volumes:
        rows = [[v.volume, v.folder, _when(v.first_seen_at), str(v.attempts), mask_secrets(v.reason)]
                for v in report.held_volumes]  # fmt: skip
        title = f"Tivoli volumes held over {thresholds.held_hours:g} hours"
        table = _table(["volume", "dropbox folder", "held since", "attempts", "reason"], rows)
        parts.append(_section(title, len(rows), Link("Archive: Tivoli", archive_page_url("tivoli", base_url)), table))
        counts.append(plural(len(rows), "held volume"))
    links_page = Link("Archive: links", archive_page_url("links", base_url))
    if report.broken_links_by_site:
        total = sum(g.count for g in report.broken_links_by_site)
        title = f"Links newly broken in the last {thresholds.recent_days:g} days, per site"
        parts.append(_section(title, total, links_page, _counts(report.broken_links_by_site, "site")))
        counts.append(plural(total, "newly broken link"))
    if report.wayback_errors:
        total = sum(g.count for g in report.wayback_errors)
        title = f"Wayback captures that failed in the last {thresholds.recent_days:g} days, by status_ext"
        parts.append(_section(title, total, links_page, _counts(report.wayback_errors, "status_ext")))
        counts.append(plural(total, "Wayback error"))
    subject = f"[ocw-archive] Needs attention {today:%Y-%m-%d}: {', '.join(counts)}"
    body = (
        "<p>The archive has records that need a person. "
        "They are listed again each day until they are resolved (or acknowledged).</p>"
        f"{''.join(parts)}"
    )
    return Email(subject, page_html(body))


def send_attention_digest(engine: Engine, base_url: str, now: dt.datetime) -> AttentionReport:
    """Query every condition and mail one digest unless nothing needs attention; returns the report."""
    thresholds = DigestThresholds.from_variables()
    report = attention_report(engine, workflow_days=thresholds.workflow_days, held_hours=thresholds.held_hours,
                              recent_days=thresholds.recent_days, now=now)  # fmt: skip
    if report.is_empty():
        log.info("Nothing needs attention: no digest sent")
        return report
    email = render_digest(report, thresholds, base_url, now.date())
    log.info("Digest: %s", email.subject)
    deliver(email, kind="attention_digest", facts={"summary": email.subject}, links=[])
    return report
