"""
### Tivoli dropbox preparation

Moves finished digital resources from the Tivoli dropbox into the staging area that the nightly load
archives, exactly as the Tivoli Preparation Tool does: empty staging folders are removed; each top-level
folder in the flat form `UF12345678_00001` (or a bare `UF12345678` folder with `00001`/`VID00001` volume
folders) is processed unless it was written to within the quiet period; its destination is
`UF/12/34/56/78/00001`; files already archived with the same folder, name, size and last write date are
deleted, same-named changed files get the date (`00001 (2009_10_29).tif`), new files keep their names;
everything is moved (whole folders by rename where possible) and logged in the Tivoli file log with its
SHA-1; the emptied source folder is deleted. Intermediary folders (e.g. `DLOC/CA00001234`), symlinks and
unsafe file names are skipped and reported in the task log and the returned summary. A crash at any point
is repaired by the next run (durable per-file intents), and a lease in the archive DB keeps overlapping
runs and the nightly load apart. Empty BibID and volume folders older than the quiet period are removed.

A volume that cannot be moved (permission denied, staging full, I/O error) is **held**: recorded in
`tivoli_held_volume` with its reason, left in the dropbox, and retried by the next run, while every other
volume is staged. The run then fails without retrying, naming the held volumes, so an operator is told.

**Schedule**: hourly from 07:00 to 17:00 local time, the tool's working hours (`0 7-17 * * *` in the DAGs'
timezone, below), no catchup, one run at a time.

**Connections**: `ocw_archive_db` (the archive state DB holding the Tivoli file log).

**Variables** (read at run time; defaults and bounds: the README's Variables table, Admin → Variables):
`TIVOLI_DROPBOX_DIR` (absolute path of the dropbox), `TIVOLI_STAGING_DIR` (absolute path of the staging area),
`TIVOLI_QUIET_MINUTES` (the quiet period).

**Params**: none.

**Pool**: `tivoli` (one mover at a time, shared with the nightly load).
"""

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.dag_defaults import DAG_TIMEZONE, START_DATE, dag_doc, task_defaults
from ocw_operators.operators.tivoli import TivoliDropboxPrepOperator


@dag(
    schedule=CronTriggerTimetable("0 7-17 * * *", timezone=DAG_TIMEZONE),
    deadline=deadline_for("tivoli_dropbox_prep"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=dag_doc(__doc__),
    tags=["tivoli", "archive"],
    default_args=task_defaults(
        pool="tivoli", retries=2, retry_delay=dt.timedelta(minutes=5), execution_timeout=dt.timedelta(minutes=55)
    ),
)
def tivoli_dropbox_prep():
    TivoliDropboxPrepOperator(task_id="prepare_dropbox")


tivoli_dropbox_prep()
