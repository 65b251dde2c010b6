"""
### DSpace OAI-PMH harvest and deposit reconciliation

Harvests DSpace's OAI-PMH endpoint (ListRecords, `oai_dc`) for the OCW collection set into the archive DB
(`oai_harvested_item`, by handle), then reconciles the course retirements (`course_retirement`, written by
`ocw_course_retirement`) with what DSpace publishes:

- a retired course whose item is now withdrawn (deleted header) or expunged is flagged on its retirement
  record (`dspace_flag` withdrawn/expunged, with the time and the reason);
- a deposit that has not appeared within `missing_after_days` is flagged missing;
- a 202-workflow deposit whose item has appeared gets its handle recorded and set in the CMS
  (`set_dspace_handle`), and its retirement is done: the same code path as the retirement DAG's follow-up.

Flags never change a retirement's progress; they are for curators. The retirement DAG asks the same harvested
items whether a course already has an item before it deposits the course (again).

Each page is committed with the run's resumption token, so a failed or timed-out harvest resumes on retry
without losing or duplicating records; the incremental watermark only moves once a list is complete.

**Schedule**: daily at 02:00 local time (`CronDataIntervalTimetable` in the DAGs' timezone, below, so each run
has a real data interval).
Scheduled and manual runs harvest incrementally from the stored watermark minus one day of overlap (DSpace's
OAI index is refreshed by `dspace oai import`, so items can appear late). `airflow backfill create
--dag-id dspace_oai_harvest --from-date ... --to-date ...` harvests each run's data interval as from/until.
One run at a time (`max_active_runs=1`).

**Connections**: `dspace_oai_default` (OAI-PMH base URL, e.g. `https://dspace.mit.edu/oai/request`; extra
`set_spec` such as `col_1721.1_33971`, `max_503_retries`, timeouts), `ocw_archive_db` (archive state DB),
`ocw_cms_default` (course CMS; used only when a workflow deposit is finished).

**Params**: `full_reharvest` (bool: harvest everything and detect expunged items), `set_spec` (override the
Connection's set), `harvest_from` / `harvest_until` (optional ISO-8601 window, inclusive),
`missing_after_days` (days before an unseen deposit is flagged).

**Variables**: none.
"""

import datetime as dt

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.dag_defaults import DAG_TIMEZONE, START_DATE, dag_doc, task_defaults
from ocw_operators.operators.dspace_oai import DSpaceOaiHarvestOperator, DSpaceOaiReconcileOperator

with DAG(
    dag_id="dspace_oai_harvest",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone=DAG_TIMEZONE),
    deadline=deadline_for("dspace_oai_harvest"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=dag_doc(__doc__),
    tags=["dspace", "oai-pmh", "reconciliation"],
    default_args=task_defaults(pool="dspace_oai", execution_timeout=dt.timedelta(hours=3)),
    params={
        "full_reharvest": Param(
            False,
            type=["null", "boolean"],
            title="Harvest the whole set again",
            description="On: harvest every record of the set from the start and flag items DSpace no longer "
            "lists as expunged. Off (default): harvest what changed since the last harvest (minus one day).",
        ),
        "set_spec": Param(
            None,
            type=["null", "string"],
            title="OAI-PMH set",
            description="Set spec to harvest, e.g. col_1721.1_33971. Empty: the set of the dspace_oai_default "
            "Connection.",
        ),
        "harvest_from": Param(
            None,
            type=["null", "string"],
            title="Harvest from (inclusive)",
            description="ISO-8601 date or UTC time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z. Empty: from the "
            "stored watermark (or the run's data interval in a backfill).",
        ),
        "harvest_until": Param(
            None,
            type=["null", "string"],
            title="Harvest until (inclusive)",
            description="ISO-8601 date or UTC time. Empty: up to now (or the end of the run's data interval in a "
            "backfill).",
        ),
        "missing_after_days": Param(
            14,
            type="integer",
            minimum=1,
            title="Days before a deposit counts as missing",
            description="A deposit that no harvest has seen this many days after it was made is flagged missing "
            "on its retirement record.",
        ),
    },
) as dag:
    harvest = DSpaceOaiHarvestOperator(
        task_id="harvest",
        set_spec="{{ params.set_spec or '' }}",
        full_reharvest="{{ params.full_reharvest }}",
        harvest_from="{{ params.harvest_from or '' }}",
        harvest_until="{{ params.harvest_until or '' }}",
    )
    reconcile = DSpaceOaiReconcileOperator(
        task_id="reconcile",
        pool="archive_db",
        execution_timeout=dt.timedelta(minutes=30),
        missing_after_days="{{ params.missing_after_days }}",
    )
    harvest >> reconcile
