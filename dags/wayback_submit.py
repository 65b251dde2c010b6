"""Submit external resources to the Wayback Machine (Save Page Now 2) and record the capture results.

Replaces ocw-studio's `submit_url_to_wayback_task` and the `submit_sites_to_wayback` command.

**Schedule**: on the assets `ocw://external-resources/checked` (after each weekly link check: every valid
resource not captured in the last `WAYBACK_SUBMISSION_INTERVAL_DAYS`) and `ocw://external-resources/created`
(new resources: only the ids in the event's `extra.resource_ids`), or manually. One run at a time.

**Tasks**: `select_batches` picks the candidates (never-captured first, at most 2,500 per run) and returns
batches of 25 ids; `submit_batch` is mapped over them ("batch 3: 25 resources"). Each request waits for a slot
in the archive DB's `wayback_spn2` rate-limit bucket, so every run, task and worker together stay under
`WAYBACK_RATE_LIMIT_PER_SECOND`; a 429 pushes the bucket back by its Retry-After. The task then defers until
SPN2 reports the jobs (within its one-hour status window) and records success (web.archive.org URL) or error.
Resources already sent by an earlier attempt or run are skipped, so retries never capture twice.
`write_site_files` (teardown, after every batch) writes each new capture URL (`wayback_url`) and status into the
resource's page in the course sites (`OCW_SITES_DIR`), one git commit per site checkout.

**Params** (manual runs): `site_filter` (site names or short ids; empty = all), `exclude` (site names or short
ids), `force` (ignore the 30-day interval and pending jobs), `resource_ids` (only these resources),
`site_files_dry_run` (only log what the site files would get).

**Connections**: `wayback_default` (type `wayback_spn2`: login = S3 access key, password = secret, host
defaults to https://web.archive.org, extra `{"timeout": 30}`), `ocw_archive_db` (archive state DB).

**Variables** (read at run time; defaults and bounds: the README's Variables table, Admin → Variables):
`ENABLE_WAYBACK_TASKS` (unless true every task skips), `WAYBACK_SUBMISSION_INTERVAL_DAYS`,
`WAYBACK_RATE_LIMIT_PER_SECOND`, `WAYBACK_PENDING_EXPIRY_HOURS`, `OCW_SITES_DIR`, `OCW_SITES_GIT_AUTHOR`,
`OCW_SITES_GIT_PUSH_REMOTE` (the write-back).

**Pools**: `wayback_spn2` (counts deferred tasks), `archive_db`, `site_files`.
"""

import datetime as dt

from airflow.sdk import DAG, Param

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.assets import EXTERNAL_RESOURCES_CHECKED, EXTERNAL_RESOURCES_CREATED
from ocw_operators.dag_defaults import START_DATE, task_defaults
from ocw_operators.operators.site_files import WriteSiteFilesOperator
from ocw_operators.operators.wayback import WaybackCandidatesOperator, WaybackSubmitOperator

with DAG(
    dag_id="wayback_submit",
    doc_md=__doc__,
    schedule=EXTERNAL_RESOURCES_CHECKED | EXTERNAL_RESOURCES_CREATED,
    deadline=deadline_for("wayback_submit"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=task_defaults(pool="wayback_spn2"),
    tags=["wayback", "external-resources"],
    params={
        "site_filter": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Sites to capture",
            description="One site name or short id per line, e.g. 18.06-spring-2010 or 18.06. Empty: every site.",
        ),
        "exclude": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Sites to leave out",
            description="One site name or short id per line; their resources are not submitted this time.",
        ),
        "force": Param(
            False,
            type=["null", "boolean"],
            title="Resubmit recently captured resources",
            description="On: submit resources even if captured within WAYBACK_SUBMISSION_INTERVAL_DAYS or still "
            "waiting for a capture job. Off (default): those are left alone.",
        ),
        "resource_ids": Param(
            [],
            type=["null", "array"],
            items={"type": "integer"},
            title="Only these resources",
            description="External resource ids as a JSON list, e.g. [12, 15]. Empty: every valid resource of the "
            "sites above.",
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
    batches = WaybackCandidatesOperator(
        task_id="select_batches",
        site_filter="{{ params.site_filter }}",
        exclude="{{ params.exclude }}",
        force="{{ params.force }}",
        resource_ids="{{ params.resource_ids }}",
        pool="archive_db",
        execution_timeout=dt.timedelta(minutes=10),
    )
    submits = WaybackSubmitOperator.partial(
        task_id="submit_batch",
        force="{{ params.force }}",
        map_index_template="batch {{ ti.map_index + 1 }}: {{ task.resource_ids | length }} resources",
        # Rate-limited sending (up to 25 x 9 s, longer behind other batches) plus the deferred wait.
        execution_timeout=dt.timedelta(hours=2),
    ).expand(resource_ids=batches.output)
    write_back = WriteSiteFilesOperator(
        task_id="write_site_files",
        site_filter="{{ params.site_filter }}",
        exclude="{{ params.exclude }}",
        dry_run="{{ params.site_files_dry_run }}",
        context_label="Wayback captures",
        pool="site_files",
        execution_timeout=dt.timedelta(minutes=30),
    ).as_teardown()
    submits >> write_back
