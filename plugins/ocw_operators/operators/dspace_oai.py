"""Operators for the DSpace OAI-PMH harvest and the reconciliation of course retirements with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from ocw_operators.db.base import utcnow
from ocw_operators.db.models.oai import HarvestMode
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.hooks.dspace_oai import DSpaceOaiHook
from ocw_operators.hooks.ocw_cms import OcwCmsHook
from ocw_operators.oai.harvest import HarvestRequest, HarvestScope, OaiHarvester
from ocw_operators.oai.reconcile import EngineHarvestedItems, reconcile
from ocw_operators.oai.records import inclusive_until
from ocw_operators.params import is_empty, parse_flag, parse_moment, parse_number
from ocw_operators.retirement.records import SqlRetirementRecords
from ocw_operators.settings import fail_on_bad_input
from ocw_operators.web.links import details_line

if TYPE_CHECKING:
    from airflow.sdk import Context

# Airflow's DagRunType.BACKFILL_JOB value: runs created by `airflow backfill create`.
BACKFILL_RUN_TYPE = "backfill"
DEFAULT_OVERLAP = dt.timedelta(days=1)


class DSpaceOaiHarvestOperator(BaseOperator):
    """Harvest DSpace's OAI-PMH list for one set into the archive DB, page by page, crash-safe.

    Which list is harvested:

    * ``harvest_from``/``harvest_until`` set: exactly that window (inclusive, as OAI-PMH defines);
    * ``full_reharvest``: the whole list (and items DSpace expunged are marked vanished);
    * a backfill run (``airflow backfill create``): the run's data interval ``[start, end)``;
    * otherwise incremental: from the stored watermark minus ``overlap`` to now.

    An interrupted harvest (worker crash, timeout, repository error) resumes on retry from the resumption
    token committed with the last stored page. Returns the harvest summary as the XCom.

    :param dspace_oai_conn_id: Connection of the OAI-PMH endpoint.
    :param archive_db_conn_id: Connection of the archive state DB.
    :param set_spec: set to harvest, e.g. ``col_1721.1_33971``; empty uses the Connection's ``extra.set_spec``
        (templated).
    :param full_reharvest: harvest the whole list instead of incrementally (templated).
    :param harvest_from: explicit inclusive lower bound, ISO-8601 (templated).
    :param harvest_until: explicit inclusive upper bound, ISO-8601 (templated).
    :param verb: ``ListRecords`` (titles and URIs) or ``ListIdentifiers`` (headers only).
    :param overlap: how far before the watermark incremental harvests start (DSpace's OAI index lags).
    """

    template_fields: Sequence[str] = ("set_spec", "full_reharvest", "harvest_from", "harvest_until")
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        dspace_oai_conn_id: str = "dspace_oai_default",
        archive_db_conn_id: str = "ocw_archive_db",
        set_spec: str | None = None,
        full_reharvest: bool | str = False,
        harvest_from: str | None = None,
        harvest_until: str | None = None,
        verb: str = "ListRecords",
        overlap: dt.timedelta = DEFAULT_OVERLAP,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dspace_oai_conn_id = dspace_oai_conn_id
        self.archive_db_conn_id = archive_db_conn_id
        self.set_spec = set_spec
        self.full_reharvest = full_reharvest
        self.harvest_from = harvest_from
        self.harvest_until = harvest_until
        self.verb = verb
        self.overlap = overlap

    def execute(self, context: Context) -> dict[str, Any]:
        oai = DSpaceOaiHook(self.dspace_oai_conn_id)
        archive = ArchiveDbHook(self.archive_db_conn_id)
        archive.check_schema()
        info = oai.identify()
        scope = HarvestScope(
            endpoint=oai.endpoint,
            set_spec=self._set_spec_or_none() or oai.set_spec,
            metadata_prefix=oai.metadata_prefix,
            verb=self.verb,
        )
        request = self._request(context, info.granularity)
        self.log.info(
            "Harvesting %s from %s (%s harvest; repository %s, granularity %s, deleted records: %s)",
            f"set {scope.set_spec}" if scope.set_spec else "every set",
            scope.endpoint,
            request.mode,
            info.repository_name or "without a name",
            info.granularity,
            info.deleted_record,
        )
        harvester = OaiHarvester(archive.get_conn(), oai.get_conn(), scope)
        result = harvester.harvest(request, granularity=info.granularity, airflow_run_id=context.get("run_id"))
        self.log.info("%s", harvest_message(result))
        self.log.info("%s", details_line(context))
        return {**result.as_dict(), "set_spec": scope.set_spec}

    def _set_spec_or_none(self) -> str | None:
        return None if is_empty(self.set_spec) else str(self.set_spec).strip()

    def _request(self, context: Context, granularity: Any) -> HarvestRequest:
        with fail_on_bad_input():
            start = parse_moment(self.harvest_from, "harvest_from")
            end = parse_moment(self.harvest_until, "harvest_until", end_of_day=True)
            full_reharvest = parse_flag(self.full_reharvest, "full_reharvest")
        if start or end:
            return HarvestRequest(HarvestMode.WINDOW, from_=start, until=end)
        if full_reharvest:
            return HarvestRequest(HarvestMode.FULL)
        dag_run = context.get("dag_run")
        if dag_run is not None and _is_backfill(dag_run):
            interval_start = context.get("data_interval_start")
            interval_end = context.get("data_interval_end")
            if interval_start is None or interval_end is None:
                raise AirflowException("a backfill run needs a data interval (use CronDataIntervalTimetable)")
            return HarvestRequest(
                HarvestMode.WINDOW, from_=interval_start, until=inclusive_until(interval_end, granularity)
            )
        return HarvestRequest(HarvestMode.INCREMENTAL, overlap=self.overlap)


class DSpaceOaiReconcileOperator(BaseOperator):
    """Reconcile course retirements with the harvested DSpace items (withdrawn, missing, workflow finished).

    The retirement side is the ``course_retirement`` table
    (:class:`~ocw_operators.retirement.records.SqlRetirementRecords`): withdrawn, expunged and missing deposits
    are flagged on their records, and a 202 deposit whose item has appeared is finished exactly as the
    retirement DAG finishes it (handle recorded, set in the CMS, record done). Each reconciliation step is its
    own short transaction, so nothing is held open across a CMS call. Returns the outcomes as the XCom.

    :param archive_db_conn_id: Connection of the archive state DB.
    :param ocw_cms_conn_id: Connection of the course CMS (read only when a workflow deposit is finished).
    :param missing_after_days: days after a deposit before an item that never appeared is flagged missing
        (templated).
    """

    template_fields: Sequence[str] = ("missing_after_days",)
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        archive_db_conn_id: str = "ocw_archive_db",
        ocw_cms_conn_id: str = "ocw_cms_default",
        missing_after_days: int | str = 14,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.archive_db_conn_id = archive_db_conn_id
        self.ocw_cms_conn_id = ocw_cms_conn_id
        self.missing_after_days = missing_after_days

    def execute(self, context: Context) -> dict[str, Any]:
        missing_after = dt.timedelta(days=self._missing_after_days())
        # The run's data interval end, not the wall clock, so a rerun of a run decides as that run did.
        now = context.get("data_interval_end") or utcnow()
        engine = ArchiveDbHook(self.archive_db_conn_id).get_conn()
        retirements = SqlRetirementRecords(
            engine, cms=OcwCmsHook(self.ocw_cms_conn_id).get_conn, run_id=str(context.get("run_id") or "")
        )
        report = reconcile(retirements, EngineHarvestedItems(engine), now=now, missing_after=missing_after)
        self.log.info("%s", report.summary())
        for is_flag, message in report.course_messages():
            if is_flag:
                self.log.warning("%s", message)
            else:
                self.log.info("%s", message)
        self.log.info("%s", details_line(context))
        return report.as_dict()

    def _missing_after_days(self) -> int:
        with fail_on_bad_input():
            return int(parse_number(self.missing_after_days, "missing_after_days", minimum=1, integer=True))


def harvest_message(result: Any) -> str:
    """A finished harvest run as a sentence for the task log."""
    watermark = f"the watermark is now {result.watermark}" if result.watermark else "no watermark yet"
    restarts = f", restarted {result.restarts} time(s) after a rejected resumption token" if result.restarts else ""
    vanished = f"; {result.vanished_items} item(s) vanished from DSpace" if result.vanished_items else ""
    return (
        f"Harvest run {result.run_id} read {result.records} record(s) in {result.pages} page(s) "
        f"({result.deleted_records} deleted, {result.rejected_records} rejected){restarts}{vanished}; {watermark}"
    )


def _is_backfill(dag_run: Any) -> bool:
    run_type = getattr(dag_run, "run_type", "")
    return str(getattr(run_type, "value", run_type)) == BACKFILL_RUN_TYPE
