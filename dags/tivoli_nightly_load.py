"""
### Tivoli nightly load

Runs the configured archive command over the staging area, by default IBM Spectrum Protect's
`dsmc archive "<staging>/*" -subdir=yes -description="OCW Tivoli load <batch> <date>"` (an argv list, never a
shell; stdin closed; stopped after a timeout). Only files that dsmc reports `[Sent]` and that match a staged
entry of the Tivoli file log (same path and size) are marked archived and then deleted from staging; the
load batch is recorded with its return code and counts, and each volume's tracking status becomes
"archived to TIVOLI". A failed load (return code 12, timeout) deletes nothing. Per-file failures (return
code 8) delete what was sent and fail the task, so a retry archives the rest. A retry of a finished run
does nothing.

**Schedule**: daily at 18:00 local time, after the preparation's last run (`0 18 * * *` in the DAGs' timezone,
below), no catchup.

**Connections**: `ocw_archive_db` (the archive state DB holding the Tivoli file log and load batches).

**Variables** (read at run time; defaults and bounds: the README's Variables table, Admin → Variables):
`TIVOLI_STAGING_DIR` (absolute path of the staging area), `TIVOLI_DSMC_COMMAND` (e.g.
`/opt/tivoli/tsm/client/ba/bin/dsmc -virtualnode=ARCHIVE`; any `-password=` value is masked),
`TIVOLI_DSMC_TIMEOUT_MINUTES` (the load's time limit).

**Params**: none.

**Pool**: `tivoli` (never runs while a preparation is moving files).
"""

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.dag_defaults import DAG_TIMEZONE, START_DATE, dag_doc, task_defaults
from ocw_operators.operators.tivoli import TivoliNightlyLoadOperator


@dag(
    schedule=CronTriggerTimetable("0 18 * * *", timezone=DAG_TIMEZONE),
    deadline=deadline_for("tivoli_nightly_load"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=dag_doc(__doc__),
    tags=["tivoli", "archive"],
    default_args=task_defaults(
        pool="tivoli",
        retries=2,
        retry_delay=dt.timedelta(minutes=15),
        # dsmc itself is stopped after TIVOLI_DSMC_TIMEOUT_MINUTES; this is the backstop.
        execution_timeout=dt.timedelta(hours=7),
    ),
)
def tivoli_nightly_load():
    TivoliNightlyLoadOperator(task_id="archive_staging_area")


tivoli_nightly_load()
