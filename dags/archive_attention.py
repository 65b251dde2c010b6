"""
### Archive attention digest

Once a day, one e-mail to `ALERT_EMAIL_RECIPIENTS` listing what in the archive needs a person, and no e-mail when
nothing does:

- retirements waiting in DSpace's review workflow (202 deposits) longer than `ATTENTION_WORKFLOW_DAYS`, and
  deposits whose outcome is unknown (started over an hour ago, neither confirmed nor refused);
- withdrawn, expunged and missing reconciliation flags no operator has acknowledged;
- Tivoli volumes held in the dropbox longer than `ATTENTION_TIVOLI_HELD_HOURS`;
- links that became broken within `ATTENTION_RECENT_DAYS`, per site, and Wayback captures that failed in that
  time, by SPN2 `status_ext`.

Each section links to its Archive page. Conditions stay in the digest each day until they are resolved.

**Schedule**: daily at 07:00 local time (`0 7 * * *` in the DAGs' timezone, below), no catchup.

**Connections**: `ocw_archive_db` (read only), `smtp_default` (the mail server), and the HTTP Connection named by
`ALERT_WEBHOOK_CONN_ID`, if set.

**Variables** (read at run time): `ALERT_EMAIL_RECIPIENTS`, `ALERT_WEBHOOK_CONN_ID`, `ATTENTION_WORKFLOW_DAYS`,
`ATTENTION_TIVOLI_HELD_HOURS`, `ATTENTION_RECENT_DAYS`.

**Params**: none.

**Pool**: `archive_db`.
"""

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.dag_defaults import DAG_TIMEZONE, START_DATE, dag_doc, task_defaults
from ocw_operators.operators.alerts import AttentionDigestOperator


@dag(
    schedule=CronTriggerTimetable("0 7 * * *", timezone=DAG_TIMEZONE),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=dag_doc(__doc__),
    tags=["alerts", "archive"],
    deadline=deadline_for("archive_attention"),
    default_args=task_defaults(
        retries=2, retry_delay=dt.timedelta(minutes=10), execution_timeout=dt.timedelta(minutes=15)
    ),
)
def archive_attention():
    AttentionDigestOperator(task_id="send_attention_digest")


archive_attention()
