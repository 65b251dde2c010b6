"""Operators for ``ocw_course_retirement``: one per step, each a thin shell over :mod:`ocw_operators.retirement`.

Every step reads the course's retirement record first and resumes from it, so retries, reruns and backfills
never repeat a finished side effect (see :mod:`ocw_operators.retirement.steps`). Errors that a retry cannot
fix (hostile or over-long file names, malformed metadata, a 4xx from DSpace, an unmapped department) fail the
task at once with a clear message; the record keeps the error text and stays resumable for the next run.

"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from ocw_operators.clients.cms import CourseNotFoundError
from ocw_operators.clients.dspace_sword import SwordDepositError
from ocw_operators.db.models.retirement import RetirementState
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.hooks.dspace_sword import DSpaceSwordHook
from ocw_operators.hooks.ocw_cms import OcwCmsHook
from ocw_operators.oai.reconcile import existing_item_lookup
from ocw_operators.params import InvalidValueError, parse_flag, parse_names
from ocw_operators.retirement import state, steps, workflow
from ocw_operators.retirement.collection_map import CollectionMapError
from ocw_operators.retirement.course import CourseDataError
from ocw_operators.retirement.holding import HoldingArea
from ocw_operators.retirement.names import HostileNameError, validate_course_id
from ocw_operators.retirement.steps import DepositOutcomeUnknownError
from ocw_operators.retirement.zipstream import SourceChangedError
from ocw_operators.safe_xml import XmlError
from ocw_operators.settings import fail_on_bad_input, setting
from ocw_operators.web.links import details_line

COURSE_LABEL = "{{ task.course_id }}"


def _directory(path: Path) -> Path:
    """A directory setting, created if missing."""
    path.mkdir(parents=True, exist_ok=True)
    return path


# Errors that another try cannot fix: the task fails at once instead of spending its retries.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    HostileNameError,
    CourseDataError,
    CourseNotFoundError,
    XmlError,
    CollectionMapError,
    SourceChangedError,
    InvalidValueError,
    # An earlier attempt may have created the item: only the next OAI-PMH harvest (or an operator) can tell.
    DepositOutcomeUnknownError,
)


class _CourseStepOperator(BaseOperator):
    """Shared shell: course id, archive DB, error recording and the permanent/transient split.

    :param course_id: ``<department>/<slug>`` of the course (templated; mapped by the DAG).
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    template_fields: Sequence[str] = ("course_id",)

    def __init__(self, *, course_id: str, archive_db_conn_id: str = "ocw_archive_db", **kwargs: Any) -> None:
        kwargs.setdefault("map_index_template", COURSE_LABEL)
        super().__init__(**kwargs)
        self.course_id = course_id
        self.archive_db_conn_id = archive_db_conn_id

    def engine(self):

        return ArchiveDbHook(self.archive_db_conn_id).get_conn()

    def execute(self, context: Any) -> dict[str, Any]:

        validate_course_id(self.course_id)
        engine = self.engine()
        state.stamp_run(engine, self.course_id, str(context.get("run_id") or ""))
        try:
            result = self.run_step(engine, context)
        except (AirflowSkipException, AirflowFailException):
            raise
        except Exception as error:
            try:
                state.record_error(engine, self.course_id, f"{self.task_id}: {error}")
            except Exception:  # the original error matters more than its bookkeeping
                self.log.exception("Could not record the error of %s in the archive DB", self.course_id)
            if self.is_permanent(error):
                self.log.error("%s: %s failed, and another try would not help: %s", self.course_id, self.task_id, error)
                raise AirflowFailException(f"{self.course_id}: {error}") from None
            self.log.warning("%s: %s failed; the task's retry resumes from here: %s", self.course_id, self.task_id,
                             error)  # fmt: skip
            raise
        self.log.info("%s", result.message)
        self.log.info("%s", details_line(context))
        return result.to_json()

    def is_permanent(self, error: Exception) -> bool:
        return isinstance(error, PERMANENT_ERRORS)

    def run_step(self, engine: Any, context: Any) -> steps.StepResult:
        raise NotImplementedError


def _listed(course_ids: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(course_ids[:limit])
    return f"{shown} and {len(course_ids) - limit} more" if len(course_ids) > limit else shown


def selection_message(source: str, records: Sequence[Any], selected: Sequence[str], max_courses: int) -> str:
    """Which courses this run retires, and why the others are not among them, as one sentence."""
    if not records:
        return f"No course {source}; nothing to retire"
    parts = [f"{len(records)} course(s) {source}"]
    parts.append(f"retiring {_listed(selected)}" if selected else "none left to retire")
    done = [record.course_id for record in records if record.state == RetirementState.DONE]
    waiting = [record.course_id for record in records if record.state == RetirementState.IN_WORKFLOW]
    if done:
        parts.append(f"already retired: {_listed(done)}")
    if waiting:
        parts.append(f"waiting in DSpace's review workflow: {_listed(waiting)}")
    later = len(records) - len(selected) - len(done) - len(waiting)
    if later:
        parts.append(f"{later} more wait for the next run (at most {max_courses} per run)")
    return "; ".join(parts)


class SelectRetirementCoursesOperator(BaseOperator):
    """The courses this run retires: the ``course_ids`` Param, or else the CMS retirement queue.

    Creates a ``pending`` record for each new course and returns the ids that are not finished yet (the DAG
    maps one task group per id). Courses waiting for DSpace's workflow are left to the follow-up task.

    :param course_ids: course ids from the trigger form (templated); empty means "poll the CMS queue".
    :param max_courses: at most this many courses per run; the rest wait for the next poll.
    :param ocw_cms_conn_id: Connection of the course CMS.
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    template_fields: Sequence[str] = ("course_ids",)

    def __init__(
        self,
        *,
        course_ids: Sequence[str] | str | None = None,
        max_courses: int = 100,
        ocw_cms_conn_id: str = "ocw_cms_default",
        archive_db_conn_id: str = "ocw_archive_db",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.course_ids = course_ids
        self.max_courses = max_courses
        self.ocw_cms_conn_id = ocw_cms_conn_id
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Any) -> list[str]:

        with fail_on_bad_input():
            requested = parse_names(self.course_ids, "course_ids", split_on_spaces=True)
        try:
            if requested:
                course_ids = [validate_course_id(course_id) for course_id in requested]
                source = "named in the trigger"
            else:
                course_ids = OcwCmsHook(self.ocw_cms_conn_id).get_conn().retirement_queue()
                source = "on the CMS retirement queue"
        except HostileNameError as error:
            raise AirflowFailException(str(error)) from None
        records = state.register(ArchiveDbHook(self.archive_db_conn_id).get_conn(), course_ids)
        finished = {RetirementState.DONE, RetirementState.IN_WORKFLOW}
        open_ids = [record.course_id for record in records if record.state not in finished]
        selected = open_ids[: self.max_courses]
        self.log.info("%s", selection_message(source, records, selected, self.max_courses))
        return selected


class FetchCourseResourcesOperator(_CourseStepOperator):
    """Step 1: the course's files and XML metadata from the CMS into the holding area (checksum-skipping).

    :param holding_area: directory; default: Variable ``ocw_retirement_holding_area`` read at run time.
    :param ocw_cms_conn_id: Connection of the course CMS.
    """

    def __init__(
        self, *, holding_area: str | None = None, ocw_cms_conn_id: str = "ocw_cms_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.holding_area = holding_area
        self.ocw_cms_conn_id = ocw_cms_conn_id

    def run_step(self, engine: Any, context: Any) -> steps.StepResult:

        holding = HoldingArea(_directory(setting("ocw_retirement_holding_area", self.holding_area)))
        cms = OcwCmsHook(self.ocw_cms_conn_id).get_conn()
        return steps.fetch(engine, holding, cms, self.course_id)


class BuildCourseSipOperator(_CourseStepOperator):
    """Step 2: the METS SIP zip (``mets.xml`` at the root), streamed to disk with its MD5.

    :param holding_area: directory; default: Variable ``ocw_retirement_holding_area``.
    :param descriptive_metadata: ``dim`` (default) or ``mods``.
    """

    def __init__(self, *, holding_area: str | None = None, descriptive_metadata: str = "dim", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if descriptive_metadata not in ("dim", "mods"):
            raise ValueError(f"descriptive_metadata must be dim or mods, not {descriptive_metadata!r}")
        self.holding_area = holding_area
        self.descriptive_metadata = descriptive_metadata

    def run_step(self, engine: Any, context: Any) -> steps.StepResult:

        holding = HoldingArea(_directory(setting("ocw_retirement_holding_area", self.holding_area)))
        return steps.package(engine, holding, self.course_id, descriptive=self.descriptive_metadata)


class _SideEffectStepOperator(_CourseStepOperator):
    """A step that changes something outside the holding area: skipped in a dry run.

    :param dry_run: when true, log what would happen and skip (templated: ``{{ params.dry_run }}``).
    """

    template_fields: Sequence[str] = ("course_id", "dry_run")

    def __init__(self, *, dry_run: bool | str | None = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dry_run = dry_run

    def execute(self, context: Any) -> dict[str, Any]:
        with fail_on_bad_input():
            dry_run = parse_flag(self.dry_run, "dry_run")
        if dry_run:
            raise AirflowSkipException(f"dry run: {self.task_id} for {self.course_id} not performed")
        return super().execute(context)


class StoreCourseZipOperator(_SideEffectStepOperator):
    """Step 3: copy the zip to ``<retired zips>/<department>/<slug>/<slug>.zip`` (temp name, fsync, rename).

    :param retired_zips_dir: directory; default: Variable ``ocw_retired_course_zips_dir`` read at run time.
    """

    def __init__(self, *, retired_zips_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retired_zips_dir = retired_zips_dir

    def run_step(self, engine: Any, context: Any) -> steps.StepResult:

        retired = _directory(setting("ocw_retired_course_zips_dir", self.retired_zips_dir))
        return steps.store(engine, retired, self.course_id)


class DepositCourseOperator(_SideEffectStepOperator):
    """Steps 4-5: SWORD deposit to the department's collection and the receipt's handle (or 202 workflow).

    Looks for an existing item for the course first: in the archive DB's retirement records, then among the
    items the ``dspace_oai_harvest`` DAG harvested (by dc.identifier.uri); never deposits twice. When an
    earlier attempt's outcome is unknown and neither knows an item, the task fails at once with what to do;
    the hourly poll tries again, and succeeds once a harvest has seen the item.

    :param dspace_sword_conn_id: Connection of DSpace's SWORD service.
    :param redeposit_after_unknown_outcome: deposit even though an earlier attempt's outcome is unknown
        (templated; only after checking DSpace by hand).
    """

    template_fields: Sequence[str] = ("course_id", "dry_run", "redeposit_after_unknown_outcome")

    def __init__(
        self,
        *,
        dspace_sword_conn_id: str = "dspace_sword_default",
        redeposit_after_unknown_outcome: bool | str | None = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dspace_sword_conn_id = dspace_sword_conn_id
        self.redeposit_after_unknown_outcome = redeposit_after_unknown_outcome

    def run_step(self, engine: Any, context: Any) -> steps.StepResult:

        redeposit = parse_flag(self.redeposit_after_unknown_outcome, "redeposit_after_unknown_outcome")
        hook = DSpaceSwordHook(self.dspace_sword_conn_id)
        result = steps.deposit(
            engine,
            hook.get_conn(),
            hook.collection_map(),
            self.course_id,
            lookup=existing_item_lookup(engine),
            redeposit_after_unknown_outcome=redeposit,
        )
        return result

    def is_permanent(self, error: Exception) -> bool:

        if isinstance(error, SwordDepositError):
            return 400 <= error.status < 500  # DSpace refused this package; 5xx may pass on a retry
        return super().is_permanent(error)


class SetCmsDspaceHandleOperator(_SideEffectStepOperator):
    """Step 6: the CMS's ``set_dspace_handle`` view with ``hdl://<prefix>/<suffix>``; skipped while in workflow.

    :param ocw_cms_conn_id: Connection of the course CMS.
    """

    def __init__(self, *, ocw_cms_conn_id: str = "ocw_cms_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ocw_cms_conn_id = ocw_cms_conn_id

    def run_step(self, engine: Any, context: Any) -> steps.StepResult:

        result = steps.set_cms_handle(engine, OcwCmsHook(self.ocw_cms_conn_id).get_conn(), self.course_id)
        if result.detail.get("awaiting_workflow"):
            raise AirflowSkipException(result.message)
        return result


class RecordRetirementOperator(_SideEffectStepOperator):
    """Step 7: mark the retirement done (handle, checksum, zip path, receipt and timestamps are on the record)."""

    def run_step(self, engine: Any, context: Any) -> steps.StepResult:

        return steps.complete(engine, self.course_id)


class FinishWorkflowDepositsOperator(BaseOperator):
    """Follow-up for 202 deposits: once DSpace's workflow archived an item, set its handle in the CMS.

    The handle comes from the SWORD v2 Edit-IRI, or else from the items ``dspace_oai_harvest`` harvested
    (by dc.identifier.uri; the only source for SWORD v1). That DAG's reconciliation finishes the same deposits
    the same way (:func:`~ocw_operators.retirement.workflow.finish_workflow_deposit`), whichever runs first.

    :param dspace_sword_conn_id: Connection of DSpace's SWORD service.
    :param ocw_cms_conn_id: Connection of the course CMS.
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    def __init__(
        self,
        *,
        dspace_sword_conn_id: str = "dspace_sword_default",
        ocw_cms_conn_id: str = "ocw_cms_default",
        archive_db_conn_id: str = "ocw_archive_db",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dspace_sword_conn_id = dspace_sword_conn_id
        self.ocw_cms_conn_id = ocw_cms_conn_id
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Any) -> list[dict[str, Any]]:

        engine = ArchiveDbHook(self.archive_db_conn_id).get_conn()
        if not state.in_workflow(engine):
            self.log.info("No deposit is waiting for DSpace's workflow")
            return []
        outcomes = workflow.finish_workflow_deposits(
            engine,
            DSpaceSwordHook(self.dspace_sword_conn_id).get_conn(),
            OcwCmsHook(self.ocw_cms_conn_id).get_conn(),
            lookup=existing_item_lookup(engine),
        )
        for outcome in outcomes:
            self.log.info("%s", workflow.workflow_outcome_message(outcome))
            if outcome["handle"]:  # finished by this run: its Archive tab lists the course
                state.stamp_run(engine, outcome["course_id"], str(context.get("run_id") or ""))
        self.log.info("%s", details_line(context))
        return outcomes
