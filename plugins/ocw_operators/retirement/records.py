"""The retirement side of the OAI-PMH reconciliation: :class:`~ocw_operators.oai.reconcile.RetirementRecords`
over the ``course_retirement`` table.

Every method is its own short transaction on the course's locked row (like every retirement step), and each is
idempotent: asked twice, it changes nothing the second time. Flags (withdrawn, expunged, missing) are recorded
beside the state machine and never move it; a 202 deposit whose item has appeared is finished by
:func:`ocw_operators.retirement.workflow.finish_workflow_deposit`, the same code the retirement DAG's follow-up runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Engine, and_, or_, select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.retirement import CourseRetirement, DSpaceFlag, RetirementState
from ocw_operators.oai.harvest import as_utc
from ocw_operators.oai.reconcile import RetirementDeposit
from ocw_operators.retirement import state, workflow
from ocw_operators.retirement.steps import HandleSink

log = logging.getLogger(__name__)

S = RetirementState
# Records that reached DSpace: a handle from a 201 receipt (or found in DSpace), or a 202 into the workflow.
DEPOSITED_STATES = (S.IN_WORKFLOW, S.DEPOSITED, S.CMS_CONFIRMED, S.DONE)


class SqlRetirementRecords:
    """:class:`~ocw_operators.oai.reconcile.RetirementRecords` over the archive DB.

    :param engine: the archive DB.
    :param cms: builds the CMS client that finishing a workflow deposit needs; called at most once, and only
        when a deposit is actually finished, so flagging works without the CMS Connection.
    :param run_id: the Airflow run reconciling; recorded with each flag it raises.
    """

    def __init__(self, engine: Engine, *, cms: Callable[[], HandleSink], run_id: str = "") -> None:
        self.engine = engine
        self.run_id = run_id
        self._make_cms = cms
        self._cms: HandleSink | None = None

    def deposits_to_reconcile(self) -> list[RetirementDeposit]:
        """Records that reached DSpace and are not flagged, in course id order (a list: no transaction stays open).

        A flag is a finding for curators and is not revisited, with one exception: a workflow deposit flagged
        missing stays listed, because a reviewer may still approve it, and then it is finished (flag cleared).
        """
        still_open = or_(
            CourseRetirement.dspace_flag.is_(None),
            and_(CourseRetirement.dspace_flag == DSpaceFlag.MISSING, CourseRetirement.state == S.IN_WORKFLOW),
        )
        with session_scope(self.engine) as session:
            records = session.scalars(
                select(CourseRetirement)
                .where(CourseRetirement.state.in_(DEPOSITED_STATES), still_open)
                .order_by(CourseRetirement.course_id)
            ).all()
        return [_deposit(record) for record in records]

    def mark_withdrawn(self, course_id: str, handle: str, *, expunged: bool) -> str | None:
        flag = DSpaceFlag.EXPUNGED if expunged else DSpaceFlag.WITHDRAWN
        reason = (
            f"item {handle} vanished from DSpace (expunged): a full OAI-PMH re-harvest no longer lists it"
            if expunged
            else f"DSpace withdrew item {handle}: OAI-PMH lists it as deleted"
        )
        with state.locked(self.engine, course_id) as record:
            if record.dspace_handle != handle:
                log.warning("%s: not flagged %s, because its retirement record now names hdl:%s, not hdl:%s",
                            course_id, flag, record.dspace_handle, handle)  # fmt: skip
                return None
            if record.dspace_flag not in (None, DSpaceFlag.MISSING):
                return None  # already withdrawn or expunged: keep the first finding and its time
            return _flag(record, flag, reason, self.run_id)

    def mark_missing(self, course_id: str, *, waited: dt.timedelta) -> str | None:
        with state.locked(self.engine, course_id) as record:
            if record.dspace_flag is not None or record.state not in DEPOSITED_STATES:
                return None
            if record.state == S.IN_WORKFLOW:
                reason = (
                    f"accepted into DSpace's workflow {waited.days} days ago and still no item for "
                    f"{record.identifier_uri or 'its course URI'} in OAI-PMH (rejected, or waiting for a reviewer)"
                )
            else:
                reason = f"item {record.dspace_handle} has not appeared in OAI-PMH {waited.days} days after the deposit"
            return _flag(record, DSpaceFlag.MISSING, reason, self.run_id)

    def finish_workflow(self, course_id: str, handle: str) -> None:
        workflow.finish_workflow_deposit(self.engine, self._cms_client(), course_id, handle)

    def _cms_client(self) -> HandleSink:
        if self._cms is None:
            self._cms = self._make_cms()
        return self._cms


def _deposit(record: CourseRetirement) -> RetirementDeposit:
    return RetirementDeposit(
        course_id=record.course_id,
        # Always set once a receipt was recorded; the row's last change is the closest stand-in otherwise.
        # SQLite hands back naive datetimes: they are UTC.
        deposited_at=as_utc(record.deposited_at or record.updated_on),
        handle=None if record.state == S.IN_WORKFLOW else record.dspace_handle,
        course_uri=record.identifier_uri or None,
    )


def _flag(record: CourseRetirement, flag: DSpaceFlag, reason: str, run_id: str) -> str:
    """Set the flag; the reconciliation report names the course, its handle and ``reason`` in the task log."""
    record.dspace_flag = flag
    record.dspace_flagged_at = state.now()
    record.dspace_flag_reason = reason
    record.dspace_flag_run_id = run_id
    record.dspace_flag_acknowledged_by = ""
    record.dspace_flag_acknowledged_at = None
    return reason
