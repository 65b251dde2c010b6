"""The link-health page: per-site counts, the links needing attention, and broken links per check run."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from sqlalchemy import literal_column

from ocw_operators.db.models import ExternalResource as R
from ocw_operators.external_resources import health
from ocw_operators.web import render
from ocw_operators.web.render import archive_run_link, badge, esc, link
from ocw_operators.web.tables import Column, Table
from ocw_operators.web.view import View, read_setting, utcnow

TITLE = "Link health"
CHECK_DAG = "external_resource_check"
SUBMIT_DAG = "wayback_submit"
DAG_IDS = (CHECK_DAG, SUBMIT_DAG, "wayback_status_update", "external_resource_import")


def _captured_since() -> dt.datetime:
    return utcnow() - dt.timedelta(days=float(read_setting("WAYBACK_SUBMISSION_INTERVAL_DAYS")))


def _count(key: str, label: str) -> Column:
    return Column(key, label, sort=literal_column(key), numeric=True)


def site_table(view: View) -> Table:
    since = _captured_since()
    site_link = render.cell_link(lambda row: f"{view.base}/links?site={quote(row['site_name'])}#problems", "site_name")
    return Table(
        name="sites",
        title="Per site",
        note=f"Wayback “captured” counts captures made since {since:%Y-%m-%d} (the resubmission interval).",
        columns=[
            Column("site_name", "Site", sort=R.site_name, html=site_link),
            _count("total", "Links"),
            _count("valid", "Valid"),
            _count("broken", "Broken"),
            _count("unchecked", "Unchecked"),
            _count("check_failed", "Check failed"),
            _count("wayback_captured", "Wayback captured"),
            _count("wayback_stale", "Captured earlier"),
            _count("wayback_pending", "Wayback pending"),
            _count("wayback_error", "Wayback error"),
            _count("wayback_never", "Never captured"),
        ],
        query=lambda filters: health.site_counts_query(filters, since),
        default_sort="-broken",
        tiebreak=[R.site_name],
        empty="No external resources in the archive.",
    )


def link_columns(view: View) -> list[Column]:
    def url_cell(row) -> str:
        return link(row["url"], row["url"], external=True)

    def code_cell(row) -> str:
        return esc(row["response_code"]) if row["response_code"] is not None else ""

    def checked_cell(row) -> str:
        when = esc(row["last_checked"])
        run = row.get("last_check_run") or ""
        return f"{when}<br>{archive_run_link(view.base, CHECK_DAG, run, 'run')}" if run else when

    def wayback_cell(row) -> str:
        state = badge(row["wayback_status"]) if row["wayback_status"] else '<span class="muted">never</span>'
        return f"{state} {link(row['wayback_url'], 'capture', external=True)}" if row["wayback_url"] else state

    def pages_cell(row) -> str:
        return "<br>".join(esc(line) for line in (row.get("referenced_by") or "").split("\n") if line)

    return [
        Column("site_name", "Site", sort=R.site_name),
        Column("url", "URL", html=url_cell),
        Column("status", "Status", sort=R.status, html=render.status_cell("status")),
        Column("response_code", "Code", html=code_cell, numeric=True),
        Column("reason", "Reason"),
        Column("first_broken_at", "First seen broken", sort=R.first_broken_at),
        Column("last_checked", "Last checked", sort=R.last_checked, html=checked_cell),
        Column(
            "referenced_by", "Referenced by", html=pages_cell, csv=lambda row: row["referenced_by"].replace("\n", "; ")
        ),
        Column("wayback_status", "Wayback", sort=R.wayback_status, html=wayback_cell),
        Column("wayback_url", "Wayback capture URL", csv_only=True),
    ]


def problem_table(view: View) -> Table:
    return Table(
        name="problems",
        title="Links needing attention",
        note="Broken, unchecked and check-failed links, with the pages that reference them.",
        columns=link_columns(view),
        query=health.problem_links_query,
        default_sort="site_name",
        tiebreak=[R.id],
        empty="No broken, unchecked or failed links.",
        enrich=health.attach_references,
    )


def tables(view: View) -> dict[str, Table]:
    return {table.name: table for table in (site_table(view), problem_table(view))}


def render_body(view: View) -> str:
    filters = view.filters("site", "status")
    totals = health.totals(view.engine)
    runs = health.trend(view.engine)
    points = [(f"{row.finished_at:%Y-%m-%d %H:%M}", row.broken_total) for row in runs]
    latest = runs[-1] if runs else None
    parts = [
        render.cards(
            [(label.replace("_", " "), totals[label]) for label in ("valid", "broken", "unchecked", "check_failed")]
        ),
        "<h2>Broken links per check run</h2>",
        render.trend_svg(points, "Broken links after each link-check run"),
    ]
    if latest is not None:
        parts.append(
            f'<p class="note">Latest run: {archive_run_link(view.base, latest.dag_id, latest.run_id)} '
            f"({latest.checked} checked, {latest.broken} broken).</p>"
        )
    parts.append(
        render.filter_form(
            view.params,
            [("site", "Site", None), ("status", "Status", list(health.PROBLEM_STATUSES))],
        )
    )
    parts.extend(view.section(table, filters) for table in tables(view).values())
    return "".join(parts)
