"""
### OCW course retirement to DSpace

Retires courses that the CMS scheduled for retirement: each course's files and XML metadata are fetched into
the DSpace holding area, packed as a DSpace METS SIP zip (MD5 computed while writing), copied to the
retired-course-zips directory, deposited over SWORD into the collection of the course's department, and the
handle DSpace assigns is set on the course in the CMS (`set_dspace_handle`, `hdl://<prefix>/<suffix>`).
Each course is a mapped task group labelled by its course id. The retirement record in the archive DB is a
state machine, so a retry or rerun resumes where the course stopped and never deposits a course twice.

Before depositing, the course is looked up by its dc.identifier.uri in the archive DB's retirement records and
then among the DSpace items `dspace_oai_harvest` harvested: a deposit whose outcome is unknown (a crash or a
timeout after the upload) is finished with the harvested item's handle instead of being sent again. Until a
harvest has seen the item, the deposit task fails at once saying so, and the next hourly run tries again.

Deposits that DSpace accepts into its review workflow (HTTP 202, no handle yet) are finished, once DSpace has
archived the item, by the `finish_workflow_deposits` task of every later run (SWORD v2 Edit-IRI, or the
harvested items) or by `dspace_oai_harvest`'s reconciliation, whichever comes first.

**Schedule**: hourly poll of the CMS retirement queue (`0 * * * *` in the DAGs' timezone, below; no catchup, one
run at a time), plus manual runs from the trigger form.

**Params**
- `course_ids`: course ids (`<department>/<slug>`) to retire now; empty = the CMS retirement queue.
- `dry_run`: fetch and package only; skip the copy, the deposit, the CMS call and the record.
- `redeposit_after_unknown_outcome`: deposit again although an earlier attempt's outcome is unknown
  (timeout, crash). Set only after checking DSpace has no item for the course.

**Connections**
- `ocw_cms_default` (CMS: host, login, password; extra `auth_style`, timeouts)
- `dspace_sword_default` (DSpace: host, login, password; extra `sword_version`, `collections` or
  `collections_file` mapping department to collection handle, `on_behalf_of`, timeouts)
- `ocw_archive_db` (archive state DB)

**Variables** (read at run time; absolute paths, created if missing): `ocw_retirement_holding_area`,
`ocw_retired_course_zips_dir`.

**Pools**: `ocw_cms` (CMS calls), `course_packaging` (zip building and copying), `dspace_sword` (deposits),
`archive_db` (bookkeeping).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, CronTriggerTimetable, Param, task_group

from ocw_operators.alerts.deadlines import deadline_for
from ocw_operators.dag_defaults import DAG_TIMEZONE, START_DATE, dag_doc, task_defaults
from ocw_operators.operators.retirement import (
    BuildCourseSipOperator,
    DepositCourseOperator,
    FetchCourseResourcesOperator,
    FinishWorkflowDepositsOperator,
    RecordRetirementOperator,
    SelectRetirementCoursesOperator,
    SetCmsDspaceHandleOperator,
    StoreCourseZipOperator,
)

COURSE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}/[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
DRY_RUN = "{{ params.dry_run }}"

with DAG(
    dag_id="ocw_course_retirement",
    schedule=CronTriggerTimetable("0 * * * *", timezone=DAG_TIMEZONE),
    deadline=deadline_for("ocw_course_retirement"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(pool="ocw_cms", execution_timeout=dt.timedelta(minutes=30)),
    params={
        "course_ids": Param(
            [],
            type=["null", "array"],
            items={"type": "string", "pattern": COURSE_ID_PATTERN},
            title="Courses to retire now",
            description="One course id per line, <department>/<slug>, e.g. "
            "history/21h-126-america-in-depression-and-war-spring-2003. Empty: retire what the CMS retirement "
            "queue holds.",
        ),
        "dry_run": Param(
            False,
            type=["null", "boolean"],
            title="Dry run: fetch and package only",
            description="On: fetch each course and build its SIP zip, and do nothing else (no copy, no deposit, "
            "no CMS change, no record). Off (default): retire the courses.",
        ),
        "redeposit_after_unknown_outcome": Param(
            False,
            type=["null", "boolean"],
            title="Deposit again after an unknown outcome",
            description="On: deposit a course although an earlier attempt's outcome is unknown (a timeout or crash "
            "after the upload). Turn on only after checking that DSpace has no item for the course. Off (default): "
            "such a course waits until a harvest finds its item.",
        ),
    },
    render_template_as_native_obj=True,
    tags=["ocw", "dspace", "retirement"],
    doc_md=dag_doc(__doc__),
) as dag:
    select_courses = SelectRetirementCoursesOperator(task_id="select_courses", course_ids="{{ params.course_ids }}")

    @task_group(group_id="retire_course")
    def retire_course(course_id: str) -> None:
        fetch = FetchCourseResourcesOperator(task_id="fetch_resources", course_id=course_id)
        package = BuildCourseSipOperator(
            task_id="build_sip", course_id=course_id, pool="course_packaging", execution_timeout=dt.timedelta(hours=2)
        )
        store = StoreCourseZipOperator(
            task_id="store_zip",
            course_id=course_id,
            dry_run=DRY_RUN,
            pool="course_packaging",
            execution_timeout=dt.timedelta(hours=1),
        )
        deposit = DepositCourseOperator(
            task_id="deposit",
            course_id=course_id,
            dry_run=DRY_RUN,
            redeposit_after_unknown_outcome="{{ params.redeposit_after_unknown_outcome }}",
            pool="dspace_sword",
            execution_timeout=dt.timedelta(hours=3),
        )
        set_handle = SetCmsDspaceHandleOperator(task_id="set_cms_handle", course_id=course_id, dry_run=DRY_RUN)
        record = RecordRetirementOperator(task_id="record", course_id=course_id, dry_run=DRY_RUN, pool="archive_db")
        fetch >> package >> store >> deposit >> set_handle >> record

    retire_course.expand(course_id=select_courses.output)
    # Independent of this run's courses (those waiting for DSpace's workflow are never selected), so a failed
    # course still fails the run while workflow deposits of earlier runs are finished.
    FinishWorkflowDepositsOperator(task_id="finish_workflow_deposits", pool="dspace_sword")
