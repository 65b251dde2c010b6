"""Which external resources to submit to the Wayback Machine, and the rule that keeps a rerun from resubmitting.

The same eligibility rule is used twice: to select candidates, and again (atomically, in the UPDATE that
claims a resource just before its capture request) so a retried, rerun or concurrent task never sends a
resource that another attempt already sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select

from ocw_operators.db.base import as_utc
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, ResourceStatus, WaybackStatus
from ocw_operators.external_resources.store import chunked, site_clause
from ocw_operators.text import plural

log = logging.getLogger(__name__)

DEFAULT_SUBMISSION_INTERVAL = dt.timedelta(days=30)  # ocw-studio's WAYBACK_SUBMISSION_INTERVAL_DAYS
# SPN2 keeps a job's status for about an hour; a pending job older than this is unknowable (see status.py).
DEFAULT_PENDING_EXPIRY = dt.timedelta(hours=6)
DEFAULT_BATCH_SIZE = 25
# Airflow refuses to map more than [core] max_map_length (1024) items.
MAX_BATCHES = 1024
_IN_CHUNK = 500  # ids per IN (...) list, far below SQLite's bound-parameter limit


@dataclass(frozen=True)
class CandidateCriteria:
    """What to submit.

    :param site_filter: only resources whose ``site_name`` or ``site_short_id`` is listed (empty: every site).
    :param exclude: never resources whose ``site_name`` or ``site_short_id`` is listed.
    :param resource_ids: only these resources (None: all). Explicitly named resources may still be
        ``unchecked`` (a new resource is submitted before its first link check, as ocw-studio does); otherwise
        only ``valid`` resources are candidates. ``broken`` and ``check_failed`` ones never are.
    :param force: ignore the submission interval and the pending window.
    :param force_cutoff: with ``force``, still skip resources claimed at or after this moment (this run's start)
        unless that attempt failed, so a retry of a forced run does not send everything twice.
    :param interval: skip resources successfully captured more recently than this.
    :param pending_window: skip resources with a capture job submitted more recently than this (pending, or
        finished with an error reported by SPN2); requests that failed before SPN2 accepted them may be resent.
    :param limit: at most this many candidates (the least recently captured first).
    """

    site_filter: Sequence[str] = ()
    exclude: Sequence[str] = ()
    resource_ids: Sequence[int] | None = None
    force: bool = False
    force_cutoff: dt.datetime | None = None
    interval: dt.timedelta = DEFAULT_SUBMISSION_INTERVAL
    pending_window: dt.timedelta = DEFAULT_PENDING_EXPIRY
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be positive")
        if self.interval < dt.timedelta(0) or self.pending_window < dt.timedelta(0):
            raise ValueError("interval and pending_window must not be negative")


def eligibility_clause(criteria: CandidateCriteria, now: dt.datetime) -> ColumnElement[bool]:
    """SQL condition: the resource may be submitted now (status, URL, interval, pending window, force)."""
    now = as_utc(now)
    allowed = [ResourceStatus.VALID.value]
    if criteria.resource_ids is not None:
        allowed.append(ResourceStatus.UNCHECKED.value)
    conditions: list[ColumnElement[bool]] = [
        ExternalResource.status.in_(allowed),
        func.length(func.trim(ExternalResource.url)) > 0,
    ]
    if not criteria.force:
        last_success = ExternalResource.wayback_last_successful_submission
        submitted_at = ExternalResource.wayback_submitted_at
        # Spelled out with IS NULL: a comparison with NULL is unknown, never true.
        conditions.append(or_(last_success.is_(None), last_success <= now - criteria.interval))
        # A capture job that SPN2 accepted within the window (still pending, or already finished with an error)
        # is not sent again yet; a request that failed before SPN2 accepted it (error, no job id) may be.
        conditions.append(
            or_(
                submitted_at.is_(None),
                submitted_at <= now - criteria.pending_window,
                and_(
                    ExternalResource.wayback_status != WaybackStatus.PENDING.value,
                    or_(ExternalResource.wayback_status != WaybackStatus.ERROR.value, _no_job_id()),
                ),
            )
        )
    elif criteria.force_cutoff is not None:
        conditions.append(
            or_(
                ExternalResource.wayback_submitted_at.is_(None),
                ExternalResource.wayback_submitted_at < as_utc(criteria.force_cutoff),
                # An attempt of this run that failed before SPN2 accepted it: its retry may try again.
                and_(ExternalResource.wayback_status == WaybackStatus.ERROR.value, _no_job_id()),
            )
        )
    return and_(*conditions)


def _no_job_id() -> ColumnElement[bool]:
    return ExternalResource.wayback_job_id == ""


def _scope_clause(criteria: CandidateCriteria) -> ColumnElement[bool]:
    return site_clause(criteria.site_filter, criteria.exclude)


def select_candidates(engine: Engine, criteria: CandidateCriteria, now: dt.datetime) -> list[int]:
    """Ids to submit, never-captured first, then the longest since a successful capture; at most ``limit``."""
    order = (
        ExternalResource.wayback_last_successful_submission.asc().nulls_first(),
        ExternalResource.id.asc(),
    )
    base = select(ExternalResource.id, ExternalResource.wayback_last_successful_submission).where(
        _scope_clause(criteria), eligibility_clause(criteria, now)
    )
    rows: list[tuple[int, dt.datetime | None]] = []
    with session_scope(engine) as session:
        if criteria.resource_ids is None:
            statement = base.order_by(*order)
            if criteria.limit is not None:
                statement = statement.limit(criteria.limit)
            rows = [tuple(row) for row in session.execute(statement)]
        else:
            for chunk in chunked(sorted(set(criteria.resource_ids)), _IN_CHUNK):
                rows.extend(tuple(row) for row in session.execute(base.where(ExternalResource.id.in_(chunk))))
            rows.sort(key=lambda row: (row[1] is not None, as_utc(row[1]) if row[1] else dt.datetime.min, row[0]))
            rows = rows[: criteria.limit] if criteria.limit is not None else rows
        _warn_about_missing_urls(session, criteria)
    return [row[0] for row in rows]


def _warn_about_missing_urls(session, criteria: CandidateCriteria) -> None:
    count_no_url = (
        select(func.count())
        .select_from(ExternalResource)
        .where(_scope_clause(criteria), func.length(func.trim(ExternalResource.url)) == 0)
    )
    if criteria.resource_ids is None:
        no_url = session.execute(count_no_url).scalar_one()
    else:
        no_url = sum(
            session.execute(count_no_url.where(ExternalResource.id.in_(chunk))).scalar_one()
            for chunk in chunked(sorted(set(criteria.resource_ids)), _IN_CHUNK)
        )
    if no_url:
        log.warning(
            "%s in scope %s an empty URL and will never be submitted.",
            plural(no_url, "external resource"),
            "has" if no_url == 1 else "have",
        )


def make_batches(ids: Sequence[int], batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[int]]:
    """Split ``ids`` for a mapped task; refuses more batches than Airflow can map."""
    batches = chunked(ids, batch_size)
    if len(batches) > MAX_BATCHES:
        raise ValueError(
            f"{len(ids)} resources make {len(batches)} batches of {batch_size}; Airflow maps at most {MAX_BATCHES}"
        )
    return batches


def resource_ids_from_asset_events(
    events: Iterable[tuple[str, dict | None]], *, created_uri: str, checked_uri: str
) -> list[int] | None:
    """Interpret the asset events that triggered a run: ``None`` means "consider every resource".

    A run triggered only by "resources created" events submits exactly the ids those events carry
    (``extra={"resource_ids": [...]}``); any "resources checked" event (the weekly check) widens the run to
    every resource. Ids that are not integers are a producer bug and are refused loudly.
    """
    ids: set[int] = set()
    seen_created = False
    for uri, extra in events:
        if uri == checked_uri:
            return None
        if uri != created_uri:
            continue
        seen_created = True
        raw = (extra or {}).get("resource_ids", [])
        if not isinstance(raw, list) or not all(
            isinstance(value, int) and not isinstance(value, bool) for value in raw
        ):
            raise ValueError(f"asset event {uri} has extra.resource_ids that is not a list of integers: {raw!r:.200}")
        ids.update(raw)
    return sorted(ids) if seen_created else None


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PENDING_EXPIRY",
    "DEFAULT_SUBMISSION_INTERVAL",
    "CandidateCriteria",
    "eligibility_clause",
    "make_batches",
    "resource_ids_from_asset_events",
    "select_candidates",
]
