"""Reconcile course retirements (DSpace deposits) with what DSpace publishes over OAI-PMH.

The retirement side is reached only through :class:`RetirementRecords`, a small protocol the course
retirement workflow implements over its own table (:class:`ocw_operators.retirement.records.SqlRetirementRecords`);
the harvested side is :class:`HarvestedItems`, implemented here over ``oai_harvested_item``. The retirement
workflow also asks the harvested side, through :func:`existing_item_lookup`, whether a course already has an item
before it deposits the course. Outcomes per deposit:

* the deposit's handle is harvested as deleted (withdrawn in DSpace) -> ``mark_withdrawn``;
* the handle vanished (expunged; found by a full re-harvest) -> ``mark_withdrawn(..., expunged=True)``;
* a 202 deposit (accepted into the submission workflow, no handle yet) whose course URI now appears on a
  harvested item -> ``finish_workflow`` with that item's handle (the retirement side records it and sets it
  in the CMS);
* a deposit that has not appeared after ``missing_after`` -> ``mark_missing``;
* otherwise nothing: the item is published as expected, or it is too early to say.

Every ``mark_*``/``finish_*`` call must be idempotent on the retirement side; :func:`reconcile` only reports
deposits that ``deposits_to_reconcile`` still returns, so a flagged deposit is not flagged again once the
retirement side has moved it to another state. The report names each course with its handle, and each flagged
course with the reason recorded on its retirement record, in sentences for the task log
(:meth:`ReconcileReport.summary`, :meth:`ReconcileReport.course_messages`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Engine, case, select
from sqlalchemy.orm import Session

from ocw_operators.db.base import as_utc
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.oai import OaiHarvestedItem
from ocw_operators.oai.records import uri_key

ExistingItemLookup = Callable[[str], str | None]
"""Course dc.identifier.uri -> handle of an item DSpace already publishes for it (None: deposit is safe)."""


@dataclass(frozen=True)
class RetirementDeposit:
    """A course retirement that reached DSpace (201 with a handle, or 202 into the workflow without one)."""

    course_id: str
    deposited_at: dt.datetime
    handle: str | None = None  # None while a 202 deposit waits in DSpace's submission workflow
    course_uri: str | None = None  # the dc.identifier.uri the deposit carried (the course URL)

    @property
    def in_workflow(self) -> bool:
        return self.handle is None


class RetirementRecords(Protocol):
    """What reconciliation needs from the course retirement records."""

    def deposits_to_reconcile(self) -> Iterable[RetirementDeposit]:
        """Deposited retirements not yet confirmed gone/missing (202 deposits included).

        A 202 deposit already flagged missing may stay listed so that it can still be finished; flagging it
        again must then be a no-op.
        """
        ...

    def mark_withdrawn(self, course_id: str, handle: str, *, expunged: bool) -> str | None:
        """DSpace withdrew (or expunged) the item this retirement deposited.

        Returns the reason recorded, or None if nothing new was flagged (already flagged, or not this item).
        """
        ...

    def mark_missing(self, course_id: str, *, waited: dt.timedelta) -> str | None:
        """The deposit never appeared in OAI-PMH within the allowed time (returns as :meth:`mark_withdrawn`)."""
        ...

    def finish_workflow(self, course_id: str, handle: str) -> None:
        """A 202 deposit's item is now public under ``handle``: record it and set it in the CMS."""
        ...


@dataclass(frozen=True)
class HarvestedItemView:
    handle: str
    deleted: bool
    vanished: bool
    datestamp: dt.datetime


class HarvestedItems(Protocol):
    def get(self, handle: str) -> HarvestedItemView | None: ...

    def handle_for_uri(self, uri: str) -> str | None: ...


class Outcome(StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    EXPUNGED = "expunged"
    WORKFLOW_FINISHED = "workflow_finished"
    MISSING = "missing"
    NOT_YET_VISIBLE = "not_yet_visible"


FLAGGED_OUTCOMES = (Outcome.WITHDRAWN, Outcome.EXPUNGED, Outcome.MISSING)
_OUTCOME_WORDS = {
    Outcome.PUBLISHED: "published",
    Outcome.WITHDRAWN: "withdrawn",
    Outcome.EXPUNGED: "expunged",
    Outcome.WORKFLOW_FINISHED: "finished from DSpace's review workflow",
    Outcome.MISSING: "missing",
    Outcome.NOT_YET_VISIBLE: "not yet visible in OAI-PMH",
}
_FLAG_WORDS = {
    Outcome.WITHDRAWN: "withdrawn in DSpace",
    Outcome.EXPUNGED: "expunged from DSpace",
    Outcome.MISSING: "missing from OAI-PMH",
}


def _hdl(handle: str | None) -> str:
    return f"hdl:{handle}" if handle else "no handle yet"


@dataclass
class ReconcileReport:
    outcomes: dict[str, str] = field(default_factory=dict)  # course_id -> Outcome
    handles: dict[str, str | None] = field(default_factory=dict)  # course_id -> handle (None: still in workflow)
    reasons: dict[str, str | None] = field(default_factory=dict)  # flagged course_id -> reason (None: flagged before)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(self.outcomes.values()))

    def as_dict(self) -> dict:
        return {"counts": self.counts, "outcomes": dict(sorted(self.outcomes.items()))}

    def summary(self) -> str:
        """One sentence: how many deposits were reconciled and what became of them."""
        if not self.outcomes:
            return "No deposit to reconcile with DSpace's OAI-PMH items"
        counts = Counter(self.outcomes.values())
        parts = [f"{counts[outcome]} {_OUTCOME_WORDS[outcome]}" for outcome in Outcome if counts[outcome]]
        return f"Reconciled {len(self.outcomes)} deposit(s) with DSpace's OAI-PMH items: {', '.join(parts)}"

    def course_messages(self) -> list[tuple[bool, str]]:
        """``(is_flag, sentence)`` for every course whose outcome needs attention or changed something."""
        messages = []
        for course_id, outcome in sorted(self.outcomes.items()):
            handle = _hdl(self.handles.get(course_id))
            if outcome in FLAGGED_OUTCOMES:
                reason = self.reasons.get(course_id)
                if reason:
                    text = f"{course_id} ({handle}): flagged {_FLAG_WORDS[Outcome(outcome)]}: {reason}"
                else:
                    text = f"{course_id} ({handle}): {_FLAG_WORDS[Outcome(outcome)]}; already flagged on its record"
                messages.append((True, text))
            elif outcome == Outcome.WORKFLOW_FINISHED:
                messages.append(
                    (False, f"{course_id}: DSpace's workflow archived the item as {handle}; handle set in the CMS")
                )
        return messages


def reconcile(
    retirements: RetirementRecords,
    items: HarvestedItems,
    *,
    now: dt.datetime,
    missing_after: dt.timedelta,
) -> ReconcileReport:
    """Decide and apply one outcome per deposit (see the module docstring)."""
    report = ReconcileReport()
    for deposit in retirements.deposits_to_reconcile():
        outcome = _outcome(deposit, items, now=now, missing_after=missing_after)
        reason = _apply(retirements, deposit, outcome, items, now=now)
        report.outcomes[deposit.course_id] = outcome
        report.handles[deposit.course_id] = deposit.handle
        if outcome in FLAGGED_OUTCOMES:
            report.reasons[deposit.course_id] = reason
        elif outcome is Outcome.WORKFLOW_FINISHED:
            report.handles[deposit.course_id] = items.handle_for_uri(deposit.course_uri or "")
    return report


def _outcome(
    deposit: RetirementDeposit, items: HarvestedItems, *, now: dt.datetime, missing_after: dt.timedelta
) -> Outcome:
    if deposit.in_workflow:
        if deposit.course_uri and items.handle_for_uri(deposit.course_uri):
            return Outcome.WORKFLOW_FINISHED
    else:
        item = items.get(deposit.handle or "")
        if item is not None:
            if item.vanished:
                return Outcome.EXPUNGED
            return Outcome.WITHDRAWN if item.deleted else Outcome.PUBLISHED
    if now - as_utc(deposit.deposited_at) >= missing_after:
        return Outcome.MISSING
    return Outcome.NOT_YET_VISIBLE


def _apply(
    retirements: RetirementRecords,
    deposit: RetirementDeposit,
    outcome: Outcome,
    items: HarvestedItems,
    *,
    now: dt.datetime,
) -> str | None:
    """Apply ``outcome``; return the reason a flag was recorded with (None when nothing was flagged)."""
    if outcome in (Outcome.WITHDRAWN, Outcome.EXPUNGED):
        return retirements.mark_withdrawn(deposit.course_id, deposit.handle or "", expunged=outcome is Outcome.EXPUNGED)
    if outcome is Outcome.WORKFLOW_FINISHED:
        retirements.finish_workflow(deposit.course_id, items.handle_for_uri(deposit.course_uri or "") or "")
    elif outcome is Outcome.MISSING:
        return retirements.mark_missing(deposit.course_id, waited=now - as_utc(deposit.deposited_at))
    return None


# --- the harvested side over the archive DB ----------------------------------------------------------------


class SqlHarvestedItems:
    """:class:`HarvestedItems` over ``oai_harvested_item`` within one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, handle: str) -> HarvestedItemView | None:
        item = self.session.get(OaiHarvestedItem, handle)
        if item is None:
            return None
        return HarvestedItemView(
            handle=item.handle,
            deleted=item.deleted,
            vanished=item.vanished_on is not None,
            datestamp=as_utc(item.datestamp),
        )

    def handle_for_uri(self, uri: str) -> str | None:
        """The handle of the item published for ``uri``: live items first, then withdrawn ones.

        A withdrawn item still counts as existing: re-depositing automatically would undo a curator's
        withdrawal. Expunged (vanished) items do not count.
        """
        key = uri_key(uri)
        if key is None:
            return None
        return self.session.scalar(
            select(OaiHarvestedItem.handle)
            .where(OaiHarvestedItem.identifier_key == key, OaiHarvestedItem.vanished_on.is_(None))
            .order_by(case((OaiHarvestedItem.deleted, 1), else_=0), OaiHarvestedItem.datestamp.desc())
            .limit(1)
        )


class EngineHarvestedItems:
    """:class:`HarvestedItems` with one short read transaction per question.

    Reconciliation interleaves these reads with the retirement side's own transactions and network calls
    (setting a handle in the CMS), so no transaction may stay open across them.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, handle: str) -> HarvestedItemView | None:
        with session_scope(self.engine) as session:
            return SqlHarvestedItems(session).get(handle)

    def handle_for_uri(self, uri: str) -> str | None:
        with session_scope(self.engine) as session:
            return SqlHarvestedItems(session).handle_for_uri(uri)


def existing_item_lookup(engine: Engine) -> ExistingItemLookup:
    """The retirement workflow's :data:`ExistingItemLookup`: asked before a course is deposited (again)."""
    return EngineHarvestedItems(engine).handle_for_uri
