"""
### External resource check (weekly)

Checks every external resource linked from course sites, stores its status in the archive DB, and hands the
valid ones on to Wayback Machine submission.

1. `list_batches`: all resources (or the Params' sites) in batches of 100.
2. `check_batch` (mapped, one task per batch, labelled by resource range): concurrent HEAD checks with a per-host
   politeness cap, GET retry when a server refuses HEAD (405/501), a bounded timeout per URL; ocw-studio's status
   rules: 400-599 broken, except 401/402/403/408/429/503 unchecked; any failure to check is `check_failed`.
3. `summarize`: totals, and updates the Asset `ocw://external-resources/checked`, which schedules `wayback_submit`
   (valid resources not captured in the last 30 days).
4. `write_site_files` (teardown: runs whatever the check's outcome): each external-resource page in the course
   sites (`OCW_SITES_DIR`) whose `status` differs from the archive DB gets the new value, in place and atomically;
   one git commit per site checkout (author `OCW_SITES_GIT_AUTHOR`; pushed only to `OCW_SITES_GIT_PUSH_REMOTE`).
   Skipped when `OCW_SITES_DIR` is not set.

**Schedule**: weekly, Mondays at 04:00 local time (cron `0 4 * * 1` in the DAGs' timezone, below); catchup off.

**Connections**: `ocw_archive_db` (archive state DB).

**Pools**: `link_check` (check batches), `site_files` (one writer of the course sites at a time), `archive_db`.

**Variables** (read at run time; defaults and bounds: the README's Variables table, Admin → Variables):
`ENABLE_CHECK_EXTERNAL_RESOURCE_TASK` (false skips the run), `LINK_CHECK_TIMEOUT_SECONDS` (per URL),
`LINK_CHECK_PER_HOST_LIMIT`, `LINK_CHECK_MAX_CONCURRENCY`, `LINK_CHECK_BATCH_SIZE` (resources per mapped check
task), `OCW_SITES_DIR`, `OCW_SITES_GIT_AUTHOR`, `OCW_SITES_GIT_PUSH_REMOTE` (the write-back).

**Params**: `site_filter` (site names or short ids; empty = all), `exclude` (sites to leave out),
`site_files_dry_run` (only log what the site files would get).
"""

import datetime as dt

from airflow.sdk import DAG, CronTriggerTimetable, Param

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.assets import EXTERNAL_RESOURCES_CHECKED
from ocw_operators.dag_defaults import DAG_TIMEZONE, START_DATE, dag_doc, task_defaults
from ocw_operators.operators.external_resource_check import (
    CheckExternalResourcesOperator,
    ListResourceBatchesOperator,
    SummarizeLinkCheckOperator,
)
from ocw_operators.operators.site_files import WriteSiteFilesOperator

with DAG(
    dag_id="external_resource_check",
    schedule=CronTriggerTimetable("0 4 * * 1", timezone=DAG_TIMEZONE),
    deadline=deadline_for("external_resource_check"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=dag_doc(__doc__),
    tags=["ocw", "external-resources", "link-check"],
    default_args=task_defaults(execution_timeout=dt.timedelta(minutes=30)),
    params={
        "site_filter": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Sites to check",
            description="One site name or short id per line, e.g. 18.06-spring-2010 or 18.06. Empty: every site.",
        ),
        "exclude": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Sites to leave out",
            description="One site name or short id per line; their resources are not checked this time.",
        ),
        "site_files_dry_run": Param(
            False,
            type=["null", "boolean"],
            title="Dry run for the site files",
            description="On: only log which external-resource pages of the course sites (OCW_SITES_DIR) would get "
            "a new status or Wayback URL. Off (default): write them, one git commit per site checkout.",
        ),
    },
) as dag:
    batches = ListResourceBatchesOperator(
        task_id="list_batches",
        # An emptied form field arrives as None.
        site_filter="{{ (params.site_filter or []) | join(',') }}",
        exclude="{{ (params.exclude or []) | join(',') }}",
    )
    checks = CheckExternalResourcesOperator.partial(
        task_id="check_batch",
        pool="link_check",
        map_index_template="{{ batch_label }}",
        execution_timeout=dt.timedelta(minutes=20),
    ).expand(resource_ids=batches.output)
    summary = SummarizeLinkCheckOperator(
        task_id="summarize", check_task_id="check_batch", outlets=[EXTERNAL_RESOURCES_CHECKED]
    )
    write_back = WriteSiteFilesOperator(
        task_id="write_site_files",
        site_filter="{{ (params.site_filter or []) | join(',') }}",
        exclude="{{ (params.exclude or []) | join(',') }}",
        dry_run="{{ params.site_files_dry_run }}",
        context_label="link check",
        pool="site_files",
    ).as_teardown()
    checks >> summary >> write_back
