"""Link-health queries for the Archive pages: counts per site, the links needing attention, and the trend per run.

Every query is bounded and ordered on an index: the per-site counts read ``ix_external_resource_site_health``
(site, status, Wayback state) and page over the grouped rows; the problem list orders by (status, site, id) or by
check time; the pages that reference a link are fetched for the shown page's resources only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, Select, and_, case, func, literal, or_, select

from ocw_operators.db.models import (
    ExternalResource,
    ExternalResourceReference,
    LinkCheckRun,
    ResourceStatus,
    WaybackStatus,
)

PROBLEM_STATUSES = (ResourceStatus.BROKEN.value, ResourceStatus.UNCHECKED.value, ResourceStatus.CHECK_FAILED.value)
WAYBACK_COVERAGE = ("captured", "stale", "pending", "error", "never")
TREND_RUNS = 26  # half a year of weekly runs

R = ExternalResource


def _count_where(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def site_counts_query(filters: Mapping[str, str], captured_since: dt.datetime) -> Select:
    """One row per site: link counts by status and by Wayback coverage (captured within the interval, captured
    before it, pending, error, never captured)."""
    captured = and_(
        R.wayback_status == WaybackStatus.SUCCESS.value, R.wayback_last_successful_submission >= captured_since
    )
    stale = or_(R.wayback_last_successful_submission.is_(None), R.wayback_last_successful_submission < captured_since)
    statement = select(
        R.site_name.label("site_name"),
        func.count().label("total"),
        _count_where(R.status == ResourceStatus.VALID.value).label("valid"),
        _count_where(R.status == ResourceStatus.BROKEN.value).label("broken"),
        _count_where(R.status == ResourceStatus.UNCHECKED.value).label("unchecked"),
        _count_where(R.status == ResourceStatus.CHECK_FAILED.value).label("check_failed"),
        _count_where(captured).label("wayback_captured"),
        _count_where(and_(R.wayback_status == WaybackStatus.SUCCESS.value, stale)).label("wayback_stale"),
        _count_where(R.wayback_status == WaybackStatus.PENDING.value).label("wayback_pending"),
        _count_where(R.wayback_status == WaybackStatus.ERROR.value).label("wayback_error"),
        _count_where(R.wayback_status == WaybackStatus.NONE.value).label("wayback_never"),
    ).group_by(R.site_name)
    if filters.get("site"):
        statement = statement.where(R.site_name == filters["site"])
    return statement


def problem_links_query(filters: Mapping[str, str]) -> Select:
    """Broken, unchecked and check-failed links (one status, one site, or a run's, when filtered)."""
    wanted = filters.get("status")
    statuses = [wanted] if wanted in PROBLEM_STATUSES else list(PROBLEM_STATUSES)
    statement = select(*_link_columns()).where(R.status.in_(statuses))
    if filters.get("site"):
        statement = statement.where(R.site_name == filters["site"])
    return statement


def checked_by_run_query(run_id: str) -> Select:
    """Every link whose current status the run ``run_id`` wrote."""
    return select(*_link_columns()).where(R.last_check_run == run_id)


def submitted_by_run_query(run_id: str) -> Select:
    """Every link whose Wayback capture the run ``run_id`` submitted (its current Wayback state)."""
    return select(*_link_columns()).where(R.wayback_submit_run == run_id)


def created_by_run_query(run_id: str) -> Select:
    """Every link the import run ``run_id`` created."""
    return select(*_link_columns()).where(R.created_by_run == run_id)


def _link_columns() -> list:
    return [
        R.id.label("id"),
        R.site_name.label("site_name"),
        R.url.label("url"),
        R.status.label("status"),
        R.external_url_response_code.label("response_code"),
        R.check_error.label("reason"),
        R.first_broken_at.label("first_broken_at"),
        R.last_checked.label("last_checked"),
        R.last_check_run.label("last_check_run"),
        R.wayback_status.label("wayback_status"),
        R.wayback_url.label("wayback_url"),
        R.wayback_submitted_at.label("wayback_submitted_at"),
        literal("").label("referenced_by"),
    ]


def attach_references(engine: Engine, rows: list[dict], limit_per_link: int = 5) -> None:
    """Fill ``referenced_by`` (the first pages that reference each link) for the rows of one page."""
    ids = [row["id"] for row in rows]
    if not ids:
        return
    pages: dict[int, list[str]] = defaultdict(list)
    statement = (
        select(ExternalResourceReference.resource_id, ExternalResourceReference.source_path)
        .where(ExternalResourceReference.resource_id.in_(ids))
        .order_by(ExternalResourceReference.resource_id, ExternalResourceReference.source_path)
    )
    with engine.connect() as connection:
        for resource_id, source_path in connection.execute(statement):
            pages[resource_id].append(source_path)
    for row in rows:
        found = pages.get(row["id"], [])
        shown = found[:limit_per_link]
        more = f" (+{len(found) - len(shown)} more)" if len(found) > len(shown) else ""
        row["referenced_by"] = "\n".join(shown) + more


def references_csv(engine: Engine, resource_ids: Iterable[int]) -> dict[int, str]:
    """The referencing pages of a CSV chunk's links, joined by ``; ``."""
    rows = [{"id": resource_id} for resource_id in resource_ids]
    attach_references(engine, rows, limit_per_link=1000)
    return {row["id"]: row["referenced_by"].replace("\n", "; ") for row in rows}


def totals(engine: Engine) -> dict[str, int]:
    statement = select(R.status, func.count()).group_by(R.status)
    with engine.connect() as connection:
        counts = {status: count for status, count in connection.execute(statement)}
    return {status.value: counts.get(status.value, 0) for status in ResourceStatus}


def trend(engine: Engine, runs: int = TREND_RUNS) -> list[LinkCheckRun]:
    """The last ``runs`` link-check runs, oldest first."""
    statement = select(LinkCheckRun).order_by(LinkCheckRun.finished_at.desc()).limit(runs)
    with engine.connect() as connection:
        rows = list(connection.execute(statement))
    return list(reversed(rows))


def check_run(engine: Engine, dag_id: str, run_id: str):
    with engine.connect() as connection:
        return connection.execute(
            select(LinkCheckRun).where(LinkCheckRun.dag_id == dag_id, LinkCheckRun.run_id == run_id)
        ).first()
