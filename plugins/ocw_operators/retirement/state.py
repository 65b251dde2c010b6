"""Reading and advancing retirement records in the archive DB.

Each function is one short transaction: no transaction is held open across a network call or a multi-GB
copy. Reads that precede a write take the write lock (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on
PostgreSQL), so a manual run and the scheduled poll working on the same course serialise on its row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session

from ocw_operators.db.base import utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.retirement import STATE_RANK, CourseRetirement, RetirementState
from ocw_operators.db.upsert import upsert
from ocw_operators.retirement.names import validate_course_id

MAX_ERROR_CHARS = 2000


class RetirementStateError(RuntimeError):
    """A step was asked to run on a course whose record is not in a state that allows it."""


def has_reached(record: CourseRetirement, state: RetirementState) -> bool:
    return STATE_RANK[RetirementState(record.state)] >= STATE_RANK[state]


def register(engine: Engine, course_ids: Iterable[str]) -> list[CourseRetirement]:
    """Create ``pending`` records for new course ids (existing ones are untouched); return all of them."""
    ids = sorted({validate_course_id(course_id) for course_id in course_ids})
    if not ids:
        return []
    with session_scope(engine, write_lock=True) as session:
        upsert(
            session,
            CourseRetirement,
            [{"course_id": course_id} for course_id in ids],
            conflict_columns=["course_id"],
            update_columns=[],
        )
    with session_scope(engine) as session:
        rows = session.scalars(select(CourseRetirement).where(CourseRetirement.course_id.in_(ids))).all()
        return sorted(rows, key=lambda row: row.course_id)


def _locked(session: Session, course_id: str) -> CourseRetirement:
    record = session.scalars(
        select(CourseRetirement).where(CourseRetirement.course_id == course_id).with_for_update()
    ).one_or_none()
    if record is None:
        raise RetirementStateError(f"course {course_id} has no retirement record; it was never selected for retirement")
    return record


def load(engine: Engine, course_id: str) -> CourseRetirement:
    with session_scope(engine) as session:
        record = session.scalars(select(CourseRetirement).where(CourseRetirement.course_id == course_id)).one_or_none()
    if record is None:
        raise RetirementStateError(f"course {course_id} has no retirement record; it was never selected for retirement")
    return record


@contextlib.contextmanager
def locked(engine: Engine, course_id: str) -> Iterator[CourseRetirement]:
    """The course's record inside a write-locked transaction; changes commit when the block ends."""
    with session_scope(engine, write_lock=True) as session:
        yield _locked(session, course_id)


def update(
    engine: Engine,
    course_id: str,
    *,
    guard: Callable[[CourseRetirement], bool] | None = None,
    **changes: Any,
) -> CourseRetirement:
    """Apply ``changes`` (clearing ``last_error``) if ``guard(record)`` holds; return the record either way."""
    with locked(engine, course_id) as record:
        if guard is None or guard(record):
            for name, value in changes.items():
                setattr(record, name, value)
            record.last_error = ""
        return record


def advance(engine: Engine, course_id: str, state: RetirementState, **changes: Any) -> CourseRetirement:
    """Move the record forward to ``state`` (never backwards) and apply ``changes`` with it."""
    return update(engine, course_id, guard=lambda record: not has_reached(record, state), state=state, **changes)


def stamp_run(engine: Engine, course_id: str, run_id: str) -> None:
    """Record the Airflow run working on the course (its run tab lists the course); no record, nothing to do."""
    if not run_id:
        return
    with session_scope(engine) as session:
        session.execute(
            sa_update(CourseRetirement).where(CourseRetirement.course_id == course_id).values(retirement_run_id=run_id)
        )


def record_error(engine: Engine, course_id: str, message: str) -> None:
    """Keep the latest failure on the record for operators; the state itself is left resumable."""
    with session_scope(engine, write_lock=True) as session:
        record = session.scalars(
            select(CourseRetirement).where(CourseRetirement.course_id == course_id).with_for_update()
        ).one_or_none()
        if record is not None:
            record.last_error = message[:MAX_ERROR_CHARS]


def in_workflow(engine: Engine) -> list[CourseRetirement]:
    """Records whose deposit DSpace accepted into its workflow and that still wait for a handle."""
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(CourseRetirement)
                .where(CourseRetirement.state == RetirementState.IN_WORKFLOW)
                .order_by(CourseRetirement.course_id)
            )
        )


def handle_for_identifier(engine: Engine, identifier_uri: str) -> str | None:
    """A handle already recorded for this dc.identifier.uri (another course id, an earlier retirement)."""
    if not identifier_uri:
        return None
    with session_scope(engine) as session:
        return session.scalars(
            select(CourseRetirement.dspace_handle).where(
                CourseRetirement.identifier_uri == identifier_uri, CourseRetirement.dspace_handle.is_not(None)
            )
        ).first()


def now() -> Any:
    return utcnow()
