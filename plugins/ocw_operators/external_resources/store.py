"""Archive-DB queries for external resources: selection by site, batches, check results, and what a run created."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy import ColumnElement, Engine, func, or_, select, true, update
from sqlalchemy.orm import Session

from ocw_operators.db.models import ExternalResource, LinkCheckRun, ResourceStatus

# ocw-studio's BATCH_SIZE_EXTERNAL_RESOURCE_STATUS_CHECK.
CHECK_BATCH_SIZE = 100


class CheckOutcome(Protocol):
    """What the link checker reports per resource (``ocw_operators.linkcheck.checker.LinkCheckResult``)."""

    resource_id: int
    status: ResourceStatus
    response_code: int | None
    error: str


def site_clause(sites: Sequence[str] = (), exclude: Sequence[str] = ()) -> ColumnElement[bool]:
    """Filter on sites the way ocw-studio's ``--filter``/``--exclude`` do: by site name or short id.

    A resource belongs to one site (its own ``site_name``/``site_short_id``), so a filter selects exactly the
    resources of the named courses: the link check, the Wayback selection and the status update all use this.
    """
    clause: ColumnElement[bool] = true()
    if sites:
        clause = clause & or_(ExternalResource.site_name.in_(sites), ExternalResource.site_short_id.in_(sites))
    if exclude:
        clause = clause & ~or_(ExternalResource.site_name.in_(exclude), ExternalResource.site_short_id.in_(exclude))
    return clause


def select_resource_ids(session: Session, *, sites: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[int]:
    return list(
        session.scalars(select(ExternalResource.id).where(site_clause(sites, exclude)).order_by(ExternalResource.id))
    )


def chunked(ids: Iterable[int], size: int) -> list[list[int]]:
    if size < 1:
        raise ValueError("chunk size must be positive")
    items = list(ids)
    return [items[start : start + size] for start in range(0, len(items), size)]


def load_urls(session: Session, resource_ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, url) for the given resources, in id order; ids that no longer exist are simply absent."""
    rows = session.execute(
        select(ExternalResource.id, ExternalResource.url)
        .where(ExternalResource.id.in_(list(resource_ids)))
        .order_by(ExternalResource.id)
    )
    return [(row.id, row.url) for row in rows]


def record_check_results(
    session: Session, results: Iterable[CheckOutcome], checked_at: dt.datetime, run_id: str = ""
) -> Counter:
    """Write the check columns only (one bulk UPDATE by primary key); returns counts per status.

    Wayback columns are left untouched, so a concurrent submission or status poll never loses its write.
    ``run_id`` (the Airflow run) is recorded on each row; ``first_broken_at`` is set when a link turns broken and
    cleared when it is no longer broken.
    """
    rows = [
        {
            "id": result.resource_id,
            "status": str(result.status),
            "external_url_response_code": result.response_code,
            "check_error": result.error[:255],
            "last_checked": checked_at,
            "last_check_run": run_id,
        }
        for result in results
    ]
    if rows:
        session.execute(update(ExternalResource), rows)
        broken = ExternalResource.status == ResourceStatus.BROKEN.value
        for ids in chunked([row["id"] for row in rows], 500):
            in_batch = ExternalResource.id.in_(ids)
            session.execute(
                update(ExternalResource)
                .where(in_batch, broken, ExternalResource.first_broken_at.is_(None))
                .values(first_broken_at=checked_at)
            )
            session.execute(
                update(ExternalResource)
                .where(in_batch, ~broken, ExternalResource.first_broken_at.is_not(None))
                .values(first_broken_at=None)
            )
    return Counter(row["status"] for row in rows)


def record_check_run(session: Session, dag_id: str, run_id: str, counts: Counter, finished_at: dt.datetime) -> None:
    """Store one run's counts and the archive's broken links at its end (replaced when the run is re-run)."""
    broken_total = session.scalar(
        select(func.count()).select_from(ExternalResource).where(ExternalResource.status == ResourceStatus.BROKEN)
    )
    row = session.get(LinkCheckRun, (dag_id, run_id)) or LinkCheckRun(dag_id=dag_id, run_id=run_id)
    row.finished_at = finished_at
    row.checked = sum(counts.values())
    row.valid = counts.get(ResourceStatus.VALID.value, 0)
    row.broken = counts.get(ResourceStatus.BROKEN.value, 0)
    row.check_failed = counts.get(ResourceStatus.CHECK_FAILED.value, 0)
    row.broken_total = broken_total or 0
    session.add(row)


def created_resource_ids(engine: Engine, run_id: str) -> list[int]:
    """Ids of every resource the run ``run_id`` inserted, including those of earlier attempts of that run."""
    table = ExternalResource.__table__
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.id).where(table.c.created_by_run == run_id).order_by(table.c.id))
        return [row.id for row in rows]
