"""Harvest OAI-PMH lists into the archive DB, one committed transaction per page.

Crash safety rests on three rules:

1. Each page's items, the run's progress (counts, the resumption token of the *next* page) and, on the last
   page, the scope's watermark are written in **one** transaction. A failure loses at most the page in flight,
   which the resumed harvest fetches again; upserts by handle make any re-delivery harmless.
2. The watermark (the next incremental ``from``) only moves when a list has been harvested to its end, to the
   newest datestamp that list contained. OAI-PMH does not promise datestamp order, so "the newest datestamp
   seen so far" in a half-finished list is not a safe starting point; the run's stored resumption token is.
   DSpace's tokens are stateless (``metadataPrefix/from/until/set/offset``) and do not expire, so an interrupted
   run continues with its token; if the repository rejects it (``badResumptionToken``), the same run restarts
   its list from its own ``from``: nothing is lost, re-delivered items are upserted again.
3. Incremental harvests start ``overlap`` before the watermark. DSpace serves OAI from an index refreshed by
   ``dspace oai import``, so an item can appear in the index later than its datestamp; the overlap catches it.

Caveats of DSpace's transient deletion, which this module honours rather than hides:

* a withdrawn item shows as ``status="deleted"`` only after the OAI index is next refreshed;
* a harvest of a date range *before* the withdrawal does not return the item at all (its datestamp moved to
  the withdrawal time), so a window harvest never "un-withdraws" anything and never moves the watermark;
* an expunged item simply vanishes. Only a complete full re-harvest can notice, and it confirms each absent
  item with GetRecord (``idDoesNotExist``) before setting ``vanished_on``, because offset-based tokens can skip
  an item that changed while the list was being paged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from ocw_operators.clients.dspace_oai import LIST_VERBS, OaiClient
from ocw_operators.db.base import as_utc, utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.oai import (
    HarvestMode,
    HarvestRunStatus,
    OaiHarvestedItem,
    OaiHarvestRun,
    OaiHarvestState,
)
from ocw_operators.db.oai_items import in_set, insert_harvest_state, upsert_items
from ocw_operators.oai.protocol import BadResumptionToken, IdDoesNotExist, ListPage
from ocw_operators.oai.records import Granularity, format_datestamp

log = logging.getLogger(__name__)

# A complete full re-harvest confirms at most this many absent items with GetRecord; more than that means
# something other than expunging is going on (wrong set, a broken index), which a human should look at.
MAX_VANISH_CHECKS = 500


@dataclass(frozen=True)
class HarvestScope:
    """What is harvested: one list of one endpoint. ``endpoint`` is the base URL without credentials."""

    endpoint: str
    set_spec: str = ""  # "" = the whole repository
    metadata_prefix: str = "oai_dc"
    verb: str = "ListRecords"

    def __post_init__(self) -> None:
        if self.verb not in LIST_VERBS:
            raise ValueError(f"verb must be one of {LIST_VERBS}")


@dataclass(frozen=True)
class HarvestRequest:
    """How much to harvest.

    :param mode: incremental (from the watermark), full (everything) or window (explicit bounds).
    :param from_: inclusive lower bound, window mode only.
    :param until: inclusive upper bound, window mode only.
    :param overlap: how far before the watermark an incremental harvest starts.
    """

    mode: HarvestMode
    from_: dt.datetime | None = None
    until: dt.datetime | None = None
    overlap: dt.timedelta = dt.timedelta(0)

    def __post_init__(self) -> None:
        if self.mode is HarvestMode.WINDOW:
            if self.from_ is None and self.until is None:
                raise ValueError("a window harvest needs from_ and/or until")
            if self.from_ and self.until and self.from_ > self.until:
                raise ValueError(f"window from {self.from_} is after until {self.until}")
        elif self.from_ is not None or self.until is not None:
            raise ValueError(f"{self.mode} harvests take no explicit bounds; use mode=window")
        if self.overlap < dt.timedelta(0):
            raise ValueError("overlap must not be negative")


@dataclass
class HarvestResult:
    run_id: int
    mode: str
    from_datestamp: str
    until_datestamp: str
    resumed: bool
    pages: int
    records: int
    deleted_records: int
    rejected_records: int
    restarts: int
    vanished_items: int
    watermark: str | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _RunStart:
    run_id: int
    from_text: str
    until_text: str
    token: str | None
    resumed: bool


class OaiHarvester:
    """Harvests one :class:`HarvestScope` from ``client`` into the archive DB behind ``engine``.

    :param engine: the archive DB (SQLite or PostgreSQL), migrated.
    :param client: an :class:`~ocw_operators.clients.dspace_oai.OaiClient` for the scope's endpoint.
    :param scope: the list to harvest.
    :param clock: "now" for bookkeeping columns (injectable for tests).
    :param max_restarts: how often one harvest may restart its list after ``badResumptionToken``.
    :param after_page: called with each committed page (progress reporting; tests use it to interrupt).
    """

    def __init__(
        self,
        engine: Engine,
        client: OaiClient,
        scope: HarvestScope,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        max_restarts: int = 2,
        after_page: Callable[[ListPage], None] | None = None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.scope = scope
        self.clock = clock
        self.max_restarts = max_restarts
        self.after_page = after_page

    def harvest(
        self, request: HarvestRequest, *, granularity: Granularity | None = None, airflow_run_id: str | None = None
    ) -> HarvestResult:
        """Harvest the list ``request`` describes, resuming this scope's interrupted run when it matches."""
        granularity = granularity or self.client.identify().granularity
        start = self._start_or_resume(request, granularity, airflow_run_id)
        log.info(
            "OAI harvest run %d: %s %s of %s from %s until %s%s",
            start.run_id,
            request.mode,
            self.scope.verb,
            f"set {self.scope.set_spec}" if self.scope.set_spec else "every set",
            start.from_text or "the first record",
            start.until_text or "now",
            ", resumed from its resumption token" if start.token else "",
        )
        token = start.token
        restarts = 0
        while True:
            try:
                self._harvest_pages(start, token)
                break
            except BadResumptionToken:
                if restarts >= self.max_restarts:
                    raise
                restarts += 1
                token = None
                self._count_restart(start.run_id)
                log.warning("Repository rejected the resumption token; restarting run %d from its from", start.run_id)
        if request.mode is HarvestMode.FULL:
            self._mark_vanished(start.run_id)
        return self._result(start)

    # --- run bookkeeping ---------------------------------------------------------------------------------

    def _start_or_resume(
        self, request: HarvestRequest, granularity: Granularity, airflow_run_id: str | None
    ) -> _RunStart:
        scope = self.scope
        with session_scope(self.engine, write_lock=True) as session:
            state = _locked_state(session, scope)
            state.granularity = str(granularity)
            from_text, until_text = _bounds(request, state.watermark, granularity)
            pending = session.scalars(
                select(OaiHarvestRun)
                .where(
                    OaiHarvestRun.endpoint == scope.endpoint,
                    OaiHarvestRun.set_spec == scope.set_spec,
                    OaiHarvestRun.metadata_prefix == scope.metadata_prefix,
                    OaiHarvestRun.verb == scope.verb,
                    OaiHarvestRun.status == HarvestRunStatus.RUNNING,
                )
                .order_by(OaiHarvestRun.id)
            ).all()
            resumable = None
            for run in pending:
                if resumable is None and _continues(run, request.mode, from_text, until_text):
                    resumable = run
                else:
                    run.status = HarvestRunStatus.ABANDONED
                    run.finished_on = self.clock()
                    log.warning("Abandoning unfinished OAI harvest run %d (superseded by other bounds)", run.id)
            if resumable is not None:
                if airflow_run_id:
                    resumable.airflow_run_id = airflow_run_id
                return _RunStart(
                    resumable.id,
                    resumable.from_datestamp,
                    resumable.until_datestamp,
                    resumable.resumption_token,
                    resumed=True,
                )
            run = OaiHarvestRun(
                endpoint=scope.endpoint,
                set_spec=scope.set_spec,
                metadata_prefix=scope.metadata_prefix,
                verb=scope.verb,
                mode=str(request.mode),
                from_datestamp=from_text,
                until_datestamp=until_text,
                status=HarvestRunStatus.RUNNING,
                airflow_run_id=airflow_run_id,
            )
            session.add(run)
            session.flush()
            return _RunStart(run.id, from_text, until_text, None, resumed=False)

    def _harvest_pages(self, start: _RunStart, token: str | None) -> None:
        pages = self.client.list_pages(
            self.scope.verb,
            metadata_prefix=self.scope.metadata_prefix,
            set_spec=self.scope.set_spec or None,
            from_=start.from_text or None,
            until=start.until_text or None,
            resumption_token=token,
        )
        for page in pages:
            self._commit_page(start.run_id, page)
            if self.after_page is not None:
                self.after_page(page)

    def _commit_page(self, run_id: int, page: ListPage) -> None:
        """The page's items, the run's progress and (on the last page) the watermark: one transaction."""
        now = self.clock()
        with session_scope(self.engine) as session:
            upsert_items(session, page.records, run_id=run_id, now=now)
            run = session.get(OaiHarvestRun, run_id, with_for_update=True)
            if run is None or run.status != HarvestRunStatus.RUNNING:
                raise RuntimeError(f"OAI harvest run {run_id} is no longer running (superseded concurrently?)")
            run.pages += 1
            run.records += len(page.records)
            run.deleted_records += sum(1 for record in page.records if record.deleted)
            run.rejected_records += len(page.rejected)
            run.complete_list_size = page.complete_list_size
            run.resumption_token = page.resumption_token
            newest = max((record.datestamp for record in page.records), default=None)
            if newest is not None:
                current = as_utc(run.max_datestamp)
                run.max_datestamp = newest if current is None else max(current, newest)
            if page.is_last:
                self._finish(session, run, now)
        for identifier, reason in page.rejected:
            log.warning("Skipped OAI record %r: %s", identifier, reason)

    def _finish(self, session: Session, run: OaiHarvestRun, now: dt.datetime) -> None:
        run.status = HarvestRunStatus.COMPLETE
        run.finished_on = now
        if run.mode == HarvestMode.WINDOW:
            return  # a backfill window says nothing about what changed after it
        state = _locked_state(session, self.scope)
        newest = as_utc(run.max_datestamp)
        watermark = as_utc(state.watermark)
        if newest is not None and (watermark is None or newest > watermark):
            state.watermark = newest
        state.last_complete_run_id = run.id

    def _count_restart(self, run_id: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(OaiHarvestRun)
                .where(OaiHarvestRun.id == run_id)
                .values(restarts=OaiHarvestRun.restarts + 1, resumption_token=None)
            )

    def _mark_vanished(self, run_id: int) -> None:
        """After a complete full harvest: items it did not list, confirmed gone by GetRecord, vanished."""
        scope = self.scope
        with session_scope(self.engine) as session:
            query = select(OaiHarvestedItem.handle, OaiHarvestedItem.oai_identifier).where(
                OaiHarvestedItem.vanished_on.is_(None),
                or_(OaiHarvestedItem.last_harvest_run_id.is_(None), OaiHarvestedItem.last_harvest_run_id != run_id),
            )
            if scope.set_spec:
                query = query.where(in_set(scope.set_spec))
            candidates = session.execute(query.limit(MAX_VANISH_CHECKS + 1)).all()
        if len(candidates) > MAX_VANISH_CHECKS:
            log.warning(
                "More than %d harvested items are absent from the full list; not marking any as vanished",
                MAX_VANISH_CHECKS,
            )
            return
        vanished: list[str] = []
        for handle, identifier in candidates:
            try:
                record = self.client.get_record(identifier, scope.metadata_prefix)
            except IdDoesNotExist:
                vanished.append(handle)
                continue
            # Still there: it moved between pages while the list was being read. Store what DSpace says now.
            with session_scope(self.engine) as session:
                upsert_items(session, [record], run_id=run_id, now=self.clock())
        with session_scope(self.engine) as session:
            if vanished:
                session.execute(
                    update(OaiHarvestedItem)
                    .where(OaiHarvestedItem.handle.in_(vanished))
                    .values(vanished_on=self.clock(), updated_on=self.clock())
                )
            counted = update(OaiHarvestRun).where(OaiHarvestRun.id == run_id).values(vanished_items=len(vanished))
            session.execute(counted)
        if vanished:
            shown = ", ".join(f"hdl:{handle}" for handle in vanished[:20])
            more = f" and {len(vanished) - 20} more" if len(vanished) > 20 else ""
            log.warning("%d item(s) vanished from the repository (expunged): %s%s", len(vanished), shown, more)

    def _result(self, start: _RunStart) -> HarvestResult:
        with session_scope(self.engine) as session:
            run = session.get(OaiHarvestRun, start.run_id)
            state = session.get(OaiHarvestState, (self.scope.endpoint, self.scope.set_spec, self.scope.metadata_prefix))
            watermark = as_utc(state.watermark) if state is not None else None
            return HarvestResult(
                run_id=run.id,
                mode=run.mode,
                from_datestamp=run.from_datestamp,
                until_datestamp=run.until_datestamp,
                resumed=start.resumed,
                pages=run.pages,
                records=run.records,
                deleted_records=run.deleted_records,
                rejected_records=run.rejected_records,
                restarts=run.restarts,
                vanished_items=run.vanished_items,
                watermark=format_datestamp(watermark, Granularity.SECOND) if watermark else None,
            )


def _locked_state(session: Session, scope: HarvestScope) -> OaiHarvestState:
    key = (scope.endpoint, scope.set_spec, scope.metadata_prefix)
    state = session.get(OaiHarvestState, key, with_for_update=True)
    if state is None:
        insert_harvest_state(session, *key)
        state = session.get(OaiHarvestState, key, with_for_update=True)
    return state


def _bounds(request: HarvestRequest, watermark: dt.datetime | None, granularity: Granularity) -> tuple[str, str]:
    if request.mode is HarvestMode.FULL:
        return "", ""
    if request.mode is HarvestMode.INCREMENTAL:
        mark = as_utc(watermark)
        return (format_datestamp(mark - request.overlap, granularity) if mark else ""), ""
    from_text = format_datestamp(request.from_, granularity) if request.from_ else ""
    until_text = format_datestamp(request.until, granularity) if request.until else ""
    return from_text, until_text


def _continues(run: OaiHarvestRun, mode: HarvestMode, from_text: str, until_text: str) -> bool:
    """Whether an unfinished run is the same harvest as the one asked for, so it should be resumed.

    An incremental run is resumed whatever its bounds (the watermark cannot have moved while it was
    unfinished); a full run likewise; a window run only for the same window (the same backfill interval).
    """
    if run.mode != mode:
        return False
    if mode is HarvestMode.WINDOW:
        return (run.from_datestamp, run.until_datestamp) == (from_text, until_text)
    return True
