"""What needs a person, read from the archive DB: plain typed queries, one per condition of the daily digest.

Each function takes an engine, the thresholds and ``now`` (so tests pin the clock) and returns rows for people;
:func:`attention_report` gathers them and :meth:`AttentionReport.is_empty` says whether a digest is due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, and_, func, or_, select

from ocw_operators.db.models import CourseRetirement, ExternalResource, RetirementState, TivoliHeldVolume
from ocw_operators.http_support import redact_url

# A deposit still "depositing" after this long is no longer in flight (the SWORD read timeout is 15 minutes):
# its outcome is unknown and a person must check DSpace.
DEPOSIT_IN_FLIGHT = dt.timedelta(hours=1)
EXAMPLES_PER_GROUP = 5


@dataclass(frozen=True)
class StuckRetirement:
    course_id: str
    state: str  # in_workflow or depositing (outcome unknown)
    since: dt.datetime | None
    detail: str


@dataclass(frozen=True)
class UnacknowledgedFlag:
    course_id: str
    flag: str  # withdrawn, expunged, missing
    handle: str
    flagged_at: dt.datetime | None
    reason: str


@dataclass(frozen=True)
class HeldVolume:
    volume: str  # BibID_VID
    folder: str
    reason: str
    first_seen_at: dt.datetime
    attempts: int


@dataclass(frozen=True)
class CountWithExamples:
    key: str  # a site, or a Wayback status_ext
    count: int
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AttentionReport:
    retirements: list[StuckRetirement]
    flags: list[UnacknowledgedFlag]
    held_volumes: list[HeldVolume]
    broken_links_by_site: list[CountWithExamples]
    wayback_errors: list[CountWithExamples]

    def is_empty(self) -> bool:
        return not (
            self.retirements or self.flags or self.held_volumes or self.broken_links_by_site or self.wayback_errors
        )


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive UTC datetimes for columns without the UTC type."""
    return moment.replace(tzinfo=dt.UTC) if moment is not None and moment.tzinfo is None else moment


def stuck_retirements(engine: Engine, workflow_days: float, now: dt.datetime) -> list[StuckRetirement]:
    """Deposits in DSpace's review workflow for more than ``workflow_days``, and deposits whose outcome is unknown."""
    r = CourseRetirement
    in_workflow = and_(r.state == RetirementState.IN_WORKFLOW, r.deposited_at < now - dt.timedelta(days=workflow_days))
    unknown = and_(r.state == RetirementState.DEPOSITING, r.deposit_started_at < now - DEPOSIT_IN_FLIGHT)
    with engine.connect() as connection:
        rows = connection.execute(
            select(r.course_id, r.state, r.deposited_at, r.deposit_started_at, r.deposit_location, r.last_error)
            .where(or_(in_workflow, unknown))
            .order_by(r.course_id)
        )
        found = []
        for row in rows:
            if row.state == RetirementState.IN_WORKFLOW:
                since = _aware(row.deposited_at)
                detail = f"in DSpace's review workflow since {since:%Y-%m-%d}"
                if row.deposit_location:
                    detail += f" ({redact_url(row.deposit_location)})"
            else:
                since = _aware(row.deposit_started_at)
                detail = f"deposit outcome unknown since {since:%Y-%m-%d %H:%M} UTC: check DSpace for the item"
            found.append(StuckRetirement(row.course_id, str(row.state), since, detail))
        return found


def unacknowledged_flags(engine: Engine) -> list[UnacknowledgedFlag]:
    """Reconciliation flags (withdrawn, expunged, missing) no operator has acknowledged yet."""
    r = CourseRetirement
    with engine.connect() as connection:
        rows = connection.execute(
            select(r.course_id, r.dspace_flag, r.dspace_handle, r.dspace_flagged_at, r.dspace_flag_reason)
            .where(r.dspace_flag.is_not(None), r.dspace_flag_acknowledged_at.is_(None))
            .order_by(r.dspace_flagged_at, r.course_id)
        )
        return [
            UnacknowledgedFlag(
                row.course_id,
                row.dspace_flag,
                row.dspace_handle or "",
                _aware(row.dspace_flagged_at),
                row.dspace_flag_reason,
            )
            for row in rows
        ]


def held_volumes(engine: Engine, held_hours: float, now: dt.datetime) -> list[HeldVolume]:
    """Tivoli volumes still held in the dropbox, first held more than ``held_hours`` ago."""
    v = TivoliHeldVolume
    with engine.connect() as connection:
        rows = connection.execute(
            select(v.bibid, v.vid, v.folder, v.reason, v.first_seen_at, v.attempts)
            .where(v.released_at.is_(None), v.first_seen_at < now - dt.timedelta(hours=held_hours))
            .order_by(v.first_seen_at, v.bibid, v.vid)
        )
        return [
            HeldVolume(f"{row.bibid}_{row.vid}", row.folder, row.reason, _aware(row.first_seen_at), row.attempts)
            for row in rows
        ]


def _grouped(engine: Engine, key, condition, order_column) -> list[CountWithExamples]:
    e = ExternalResource
    with engine.connect() as connection:
        counts = connection.execute(
            select(key.label("key"), func.count().label("n")).where(condition).group_by(key).order_by(key)
        ).all()
        groups = []
        for row in counts:
            latest_first = select(e.url).where(condition, key == row.key).order_by(order_column.desc(), e.id)
            examples = connection.execute(latest_first.limit(EXAMPLES_PER_GROUP)).scalars()
            groups.append(CountWithExamples(row.key or "(none)", row.n, [redact_url(url) for url in examples]))
        return groups


def newly_broken_links(engine: Engine, recent_days: float, now: dt.datetime) -> list[CountWithExamples]:
    """Per site: links whose check turned them ``broken`` within ``recent_days``."""
    e = ExternalResource
    condition = and_(e.status == "broken", e.first_broken_at >= now - dt.timedelta(days=recent_days))
    return _grouped(engine, e.site_name, condition, e.first_broken_at)


def recent_wayback_errors(engine: Engine, recent_days: float, now: dt.datetime) -> list[CountWithExamples]:
    """Per SPN2 ``status_ext``: captures submitted within ``recent_days`` that ended in an error."""
    e = ExternalResource
    condition = and_(e.wayback_status == "error", e.wayback_submitted_at >= now - dt.timedelta(days=recent_days))
    return _grouped(engine, e.wayback_status_ext, condition, e.wayback_submitted_at)


def attention_report(
    engine: Engine, *, workflow_days: float, held_hours: float, recent_days: float, now: dt.datetime
) -> AttentionReport:
    return AttentionReport(
        retirements=stuck_retirements(engine, workflow_days, now),
        flags=unacknowledged_flags(engine),
        held_volumes=held_volumes(engine, held_hours, now),
        broken_links_by_site=newly_broken_links(engine, recent_days, now),
        wayback_errors=recent_wayback_errors(engine, recent_days, now),
    )
