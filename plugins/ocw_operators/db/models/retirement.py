"""Course retirements: one row per course, a state machine that every DAG step advances.

States, in order: ``pending`` → ``fetched`` → ``packaged`` → ``stored`` → ``depositing`` →
(``in_workflow`` | ``deposited``) → ``cms_confirmed`` → ``done``. ``depositing`` is written *before* the
SWORD request and cleared only by DSpace's answer, so a crash mid-deposit leaves a trace: the next attempt
must find the existing item (DB, then the OAI-PMH harvested items) instead of depositing again.

Beside the progress state, the OAI-PMH reconciliation may flag a deposit (``dspace_flag``): DSpace withdrew
or expunged its item, or the item never appeared. A flag is a finding for curators; it never moves the state
machine, so a flagged course is neither retired again nor dropped from the records.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ocw_operators.db.base import Base, TimestampMixin


class RetirementState(StrEnum):
    PENDING = "pending"
    FETCHED = "fetched"
    PACKAGED = "packaged"
    STORED = "stored"
    DEPOSITING = "depositing"
    IN_WORKFLOW = "in_workflow"
    DEPOSITED = "deposited"
    CMS_CONFIRMED = "cms_confirmed"
    DONE = "done"


class DSpaceFlag(StrEnum):
    """What the OAI-PMH reconciliation found wrong with a deposit (None: nothing)."""

    WITHDRAWN = "withdrawn"  # DSpace lists the item as deleted (withdrawn, or no longer discoverable)
    EXPUNGED = "expunged"  # the item vanished from DSpace altogether
    MISSING = "missing"  # the deposit never appeared in OAI-PMH within the allowed time


# Progress rank: a step runs only if the record has not yet passed it.
STATE_RANK = {state: rank for rank, state in enumerate(RetirementState)}
STATE_RANK[RetirementState.IN_WORKFLOW] = STATE_RANK[RetirementState.DEPOSITED]


class CourseRetirement(TimestampMixin, Base):
    __tablename__ = "course_retirement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course_id: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    state: Mapped[str] = mapped_column(
        String(16), nullable=False, default=RetirementState.PENDING, server_default="pending", index=True
    )
    department: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    identifier_uri: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    title: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")

    # Packaging.
    package_path: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    zip_path: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    zip_md5: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")
    zip_size: Mapped[int | None] = mapped_column(BigInteger)

    # Deposit.
    collection_handle: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    deposit_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deposited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deposit_status_code: Mapped[int | None] = mapped_column(Integer)
    deposit_receipt: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    deposit_location: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    edit_iri: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    dspace_handle: Mapped[str | None] = mapped_column(String(64), index=True)

    # CMS and completion.
    cms_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    cms_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")

    # OAI-PMH reconciliation (see DSpaceFlag); set once, kept until a curator or a finished workflow clears it.
    dspace_flag: Mapped[str | None] = mapped_column(String(16), index=True)
    dspace_flagged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dspace_flag_reason: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    # An operator's acknowledgement (Archive → Retirements); a new flag clears it, the flag itself stays visible.
    dspace_flag_acknowledged_by: Mapped[str] = mapped_column(String(250), nullable=False, default="", server_default="")
    dspace_flag_acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    # Airflow run ids: the retirement run that last advanced the course, and the harvest run whose reconciliation
    # raised the current flag (each run's tab in the UI lists its courses by them).
    retirement_run_id: Mapped[str] = mapped_column(
        String(250), nullable=False, default="", server_default="", index=True
    )
    dspace_flag_run_id: Mapped[str] = mapped_column(
        String(250), nullable=False, default="", server_default="", index=True
    )

    def __repr__(self) -> str:
        return f"<CourseRetirement {self.course_id} {self.state} {self.dspace_handle}>"
