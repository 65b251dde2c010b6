"""Follow up on pending Wayback Machine capture jobs and expire the ones SPN2 can no longer report.

Replaces ocw-studio's `update_wayback_jobs_status_batch` and the `update_wayback_status` command. Most jobs are
already settled by `wayback_submit`, which waits for them; this catches the rest (runs that timed out, a
triggerer restart, jobs from other tools).

**Schedule**: every 6 hours, at 00:00, 06:00, 12:00 and 18:00 local time (`0 */6 * * *` in the DAGs' timezone,
below), catchup off; or manually.

**Task**: `update_statuses` asks `POST /save/status` about pending jobs, 50 job ids per request, and records
success (`https://web.archive.org/web/<timestamp>/<original_url>`, last successful submission) or error
(`status_ext`, HTTP status); pending jobs stay pending. SPN2 keeps a job's status for about an hour, so jobs
still pending after `WAYBACK_PENDING_EXPIRY_HOURS` become `error` / `error:status-expired` (and may be
submitted again). Then `write_site_files` (teardown) writes the new capture URLs and statuses into the resources'
pages in the course sites (`OCW_SITES_DIR`), one git commit per site checkout.

**Params**: `site_filter` (site names or short ids; empty = all), `job_ids` (only these jobs),
`site_files_dry_run` (only log what the site files would get).

**Connections**: `wayback_default` (type `wayback_spn2`), `ocw_archive_db` (archive state DB).

**Variables** (read at run time; defaults and bounds: the README's Variables table, Admin → Variables):
`ENABLE_WAYBACK_TASKS` (unless true the task skips), `WAYBACK_PENDING_EXPIRY_HOURS`, `OCW_SITES_DIR`,
`OCW_SITES_GIT_AUTHOR`, `OCW_SITES_GIT_PUSH_REMOTE` (the write-back).

**Pools**: `wayback_spn2`, `site_files`.
"""

import datetime as dt

from airflow.sdk import DAG, CronTriggerTimetable, Param

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.dag_defaults import DAG_TIMEZONE, START_DATE, dag_doc, task_defaults
from ocw_operators.operators.site_files import WriteSiteFilesOperator
from ocw_operators.operators.wayback import WaybackStatusUpdateOperator

with DAG(
    dag_id="wayback_status_update",
    doc_md=dag_doc(__doc__),
    schedule=CronTriggerTimetable("0 */6 * * *", timezone=DAG_TIMEZONE),
    deadline=deadline_for("wayback_status_update"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=task_defaults(pool="wayback_spn2", execution_timeout=dt.timedelta(minutes=30)),
    tags=["wayback", "external-resources"],
    params={
        "site_filter": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Sites",
            description="Only pending jobs of these sites' resources: one site name or short id per line. "
            "Empty: every site.",
        ),
        "job_ids": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Only these SPN2 jobs",
            description="One SPN2 job id per line. Empty: every pending job.",
        ),
        "site_files_dry_run": Param(
            False,
            type=["null", "boolean"],
            title="Dry run for the site files",
            description="On: only log which external-resource pages of the course sites (OCW_SITES_DIR) would get "
            "a new status or Wayback URL. Off (default): write them, one git commit per site checkout.",
        ),
    },
):
    update = WaybackStatusUpdateOperator(
        task_id="update_statuses",
        site_filter="{{ params.site_filter }}",
        job_ids="{{ params.job_ids }}",
    )
    write_back = WriteSiteFilesOperator(
        task_id="write_site_files",
        site_filter="{{ params.site_filter }}",
        dry_run="{{ params.site_files_dry_run }}",
        context_label="Wayback status update",
        pool="site_files",
    ).as_teardown()
    update >> write_back
