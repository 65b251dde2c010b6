"""Record SPN2 capture job statuses, and expire pending jobs whose status SPN2 can no longer tell.

``success`` stores the playback URL ``https://web.archive.org/web/<timestamp>/<original_url>`` and the time of
the last successful submission; ``error`` stores ``status_ext`` and the HTTP status; ``pending`` leaves the row
alone. Each job id may belong to several rows (SPN2 gives the same job to the same URL), and every write is an
UPDATE of Wayback columns only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, or_, select, update

from ocw_operators.clients.wayback_spn2 import ERROR, PENDING, SUCCESS, JobStatus
from ocw_operators.db.base import as_utc, utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, WaybackStatus
from ocw_operators.external_resources.store import chunked, site_clause
from ocw_operators.text import plural
from ocw_operators.wayback.candidates import DEFAULT_PENDING_EXPIRY

log = logging.getLogger(__name__)

STATUS_CHUNK_SIZE = 50  # ocw-studio's BATCH_SIZE_WAYBACK_STATUS_UPDATE
STATUS_EXPIRED = "error:status-expired"


class StatusClient(Protocol):
    def job_statuses(self, job_ids: Iterable[str]) -> list[JobStatus]: ...


@dataclass
class StatusSummary:
    """Counts of one status pass (JSON-serialisable through :meth:`to_dict`)."""

    requested: int = 0  # job ids asked about
    success: int = 0
    error: int = 0
    pending: int = 0
    not_reported: int = 0  # asked about, but SPN2 no longer knows the job (left for expiry)
    unknown: int = 0  # reported by SPN2 but not pending in the archive DB
    expired: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def describe(self) -> str:
        """One sentence for the task log, every number named."""
        parts = [f"{self.success} succeeded", f"{self.error} failed", f"{self.pending} still pending"]
        if self.not_reported:
            parts.append(f"{self.not_reported} no longer known to SPN2 (left to expire)")
        if self.unknown:
            parts.append(f"{self.unknown} reported for no pending resource (ignored)")
        sentence = f"Asked SPN2 about {plural(self.requested, 'capture job')}: {', '.join(parts)}."
        if self.expired:
            sentence += f" Expired {plural(self.expired, 'job')} pending for too long."
        return sentence

    def add(self, other: StatusSummary) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


def pending_job_ids(
    engine: Engine, *, site_filter: Sequence[str] = (), job_ids: Sequence[str] | None = None
) -> list[str]:
    """Distinct job ids of pending resources (optionally only these ids, or only these sites' own resources)."""
    statement = (
        select(ExternalResource.wayback_job_id)
        .where(ExternalResource.wayback_status == WaybackStatus.PENDING.value, ExternalResource.wayback_job_id != "")
        .distinct()
        .order_by(ExternalResource.wayback_job_id)
    )
    names = [name for name in site_filter if name]
    if names:
        statement = statement.where(site_clause(names))
    with session_scope(engine) as session:
        if job_ids is None:
            return list(session.execute(statement).scalars())
        found: list[str] = []
        for chunk in chunked(sorted({job_id for job_id in job_ids if job_id}), 500):
            found.extend(session.execute(statement.where(ExternalResource.wayback_job_id.in_(chunk))).scalars())
        return sorted(found)


def record_job_statuses(
    engine: Engine, statuses: Iterable[JobStatus], *, requested: Sequence[str] = (), now: dt.datetime | None = None
) -> StatusSummary:
    """Write the statuses to every pending resource holding each job id; returns the counts."""
    now = as_utc(now or utcnow())
    statuses = list(statuses)
    summary = StatusSummary(requested=len(set(requested)))
    reported = {status.job_id for status in statuses}
    summary.not_reported = len(set(requested) - reported)
    with session_scope(engine) as session:
        for status in statuses:
            values = _values_for(status, now)
            if values is None:
                summary.pending += 1
                continue
            updated = session.execute(
                update(ExternalResource)
                .where(ExternalResource.wayback_job_id == status.job_id, _awaiting_result())
                .values(**values)
            ).rowcount
            if not updated:
                summary.unknown += 1
                log.warning(
                    "SPN2 reported job %s as %s, but no pending resource holds it; ignored.",
                    status.job_id,
                    status.status,
                )
            elif status.status == SUCCESS:
                summary.success += 1
            else:
                summary.error += 1
    return summary


def _awaiting_result():
    # A job that was expired by us may still report in late (e.g. the trigger's last poll): accept it.
    return or_(
        ExternalResource.wayback_status == WaybackStatus.PENDING.value,
        ExternalResource.wayback_status_ext == STATUS_EXPIRED,
    )


def _values_for(status: JobStatus, now: dt.datetime) -> dict[str, Any] | None:
    if status.status == SUCCESS:
        if not status.timestamp or not status.original_url:
            log.warning(
                "SPN2 job %s succeeded without a timestamp or original URL; recorded as a success without a URL.",
                status.job_id,
            )
        return {
            "wayback_status": WaybackStatus.SUCCESS.value,
            "wayback_status_ext": "",
            "wayback_url": status.wayback_url[:800] if status.timestamp and status.original_url else "",
            "wayback_http_status": status.http_status,
            "wayback_last_successful_submission": now,
        }
    if status.status == ERROR:
        return {
            "wayback_status": WaybackStatus.ERROR.value,
            "wayback_status_ext": (status.status_ext or "error:unknown")[:128],
            "wayback_http_status": status.http_status,
        }
    if status.status == PENDING:
        return None
    raise ValueError(f"unknown SPN2 job status {status.status!r}")


def update_job_statuses(
    engine: Engine,
    client: StatusClient,
    *,
    site_filter: Sequence[str] = (),
    job_ids: Sequence[str] | None = None,
    chunk_size: int = STATUS_CHUNK_SIZE,
    clock: Callable[[], dt.datetime] = utcnow,
) -> StatusSummary:
    """Ask SPN2 about pending jobs ``chunk_size`` at a time and record the answers (each chunk committed)."""
    ids = pending_job_ids(engine, site_filter=site_filter, job_ids=job_ids)
    summary = StatusSummary()
    if not ids:
        log.info("No pending Wayback Machine jobs to update.")
        return summary
    for chunk in chunked(ids, chunk_size):
        statuses = client.job_statuses(chunk)
        summary.add(record_job_statuses(engine, statuses, requested=chunk, now=clock()))
    # The caller logs the whole pass once expiry is added to it.
    log.debug("%s", summary.describe())
    return summary


def expire_stale_jobs(
    engine: Engine, *, max_age: dt.timedelta = DEFAULT_PENDING_EXPIRY, now: dt.datetime | None = None
) -> int:
    """Turn pending jobs submitted more than ``max_age`` ago into ``error``/``error:status-expired``.

    SPN2 keeps a job's status for about an hour, so such a job will never be resolved; ocw-studio left them
    pending forever, which also blocked their resubmission. Rows pending without a submission time (imported
    from elsewhere) are unknowable too and expire as well.
    """
    cutoff = as_utc(now or utcnow()) - max_age
    with session_scope(engine) as session:
        expired = session.execute(
            update(ExternalResource)
            .where(
                ExternalResource.wayback_status == WaybackStatus.PENDING.value,
                or_(ExternalResource.wayback_submitted_at.is_(None), ExternalResource.wayback_submitted_at < cutoff),
            )
            .values(
                wayback_status=WaybackStatus.ERROR.value,
                wayback_status_ext=STATUS_EXPIRED,
                wayback_http_status=None,
            )
        ).rowcount
    if expired:
        log.warning(
            "Expired %s pending since before %s: SPN2 no longer reports their status.",
            plural(expired, "Wayback Machine capture job"),
            cutoff.isoformat(timespec="seconds"),
        )
    return expired
