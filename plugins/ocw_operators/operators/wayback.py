"""Operators for Wayback Machine (SPN2) capture: choose batches, submit them, and follow up on job statuses.

Every operator reads its Variables in ``execute()`` (never while the DAG file is parsed) and skips with a clear
message unless ``ENABLE_WAYBACK_TASKS`` is true. Logic lives in :mod:`ocw_operators.wayback`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from ocw_operators.assets import EXTERNAL_RESOURCES_CHECKED, EXTERNAL_RESOURCES_CREATED
from ocw_operators.clients.wayback_spn2 import JobStatus
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.hooks.wayback import WaybackHook
from ocw_operators.params import parse_flag, parse_ids, parse_names
from ocw_operators.ratelimit import DbRateLimiter
from ocw_operators.settings import fail_on_bad_input, parse_setting, setting
from ocw_operators.text import names, plural
from ocw_operators.triggers.wayback import DEFAULT_POLL_INTERVAL_SECONDS, DEFAULT_TIMEOUT_SECONDS, WaybackJobsTrigger
from ocw_operators.wayback.candidates import (
    DEFAULT_BATCH_SIZE,
    CandidateCriteria,
    make_batches,
    resource_ids_from_asset_events,
    select_candidates,
)
from ocw_operators.wayback.status import STATUS_CHUNK_SIZE, expire_stale_jobs, record_job_statuses, update_job_statuses
from ocw_operators.wayback.submission import SubmissionSummary, submit_batch
from ocw_operators.web.links import details_line

RATE_LIMIT_BUCKET = "wayback_spn2"
# One run should finish in hours, not days: at 0.11 req/s this is about 6 hours of captures.
DEFAULT_MAX_RESOURCES_PER_RUN = 2500
# A Retry-After longer than this fails the task (Airflow retries later) instead of sleeping in a worker slot.
MAX_RATE_LIMIT_WAIT_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class WaybackSettings:
    """The Wayback Variables, typed."""

    enabled: bool
    submission_interval: dt.timedelta
    rate_per_second: float
    pending_expiry: dt.timedelta


def parse_wayback_settings(raw: Mapping[str, Any]) -> WaybackSettings:
    """The Wayback Variables from their text (a missing or None value takes the registry's default)."""
    return WaybackSettings(
        enabled=parse_setting("ENABLE_WAYBACK_TASKS", raw.get("ENABLE_WAYBACK_TASKS")),
        submission_interval=dt.timedelta(
            days=parse_setting("WAYBACK_SUBMISSION_INTERVAL_DAYS", raw.get("WAYBACK_SUBMISSION_INTERVAL_DAYS"))
        ),
        rate_per_second=parse_setting("WAYBACK_RATE_LIMIT_PER_SECOND", raw.get("WAYBACK_RATE_LIMIT_PER_SECOND")),
        pending_expiry=dt.timedelta(
            hours=parse_setting("WAYBACK_PENDING_EXPIRY_HOURS", raw.get("WAYBACK_PENDING_EXPIRY_HOURS"))
        ),
    )


def read_wayback_settings() -> WaybackSettings:
    """The Wayback Variables, read and validated; call only at run time."""
    return WaybackSettings(
        enabled=setting("ENABLE_WAYBACK_TASKS"),
        submission_interval=dt.timedelta(days=setting("WAYBACK_SUBMISSION_INTERVAL_DAYS")),
        rate_per_second=setting("WAYBACK_RATE_LIMIT_PER_SECOND"),
        pending_expiry=dt.timedelta(hours=setting("WAYBACK_PENDING_EXPIRY_HOURS")),
    )


def require_enabled(settings: WaybackSettings, what: str) -> None:
    if not settings.enabled:
        raise AirflowSkipException(
            f"Wayback Machine tasks are disabled (set Variable ENABLE_WAYBACK_TASKS to true to enable); {what} skipped"
        )


def _asset_events(context: Any) -> list[tuple[str, dict]]:
    accessor = context.get("triggering_asset_events") or {}
    return [(asset.uri, dict(event.extra or {})) for asset, events in accessor.items() for event in events]


def _run_started_at(context: Any) -> dt.datetime | None:
    dag_run = context.get("dag_run")
    return getattr(dag_run, "start_date", None)


class WaybackCandidatesOperator(BaseOperator):
    """Select resources to capture and return them as batches (a list of lists of ids) for a mapped submit task.

    A run triggered by ``EXTERNAL_RESOURCES_CREATED`` asset events considers only the ids in the events'
    ``extra["resource_ids"]``; a manual run's ``resource_ids`` wins over both; otherwise every valid resource.

    :param site_filter: only these sites (``site_name`` or ``site_short_id``). (templated)
    :param exclude: never these sites. (templated)
    :param force: ignore the submission interval and the pending window. (templated)
    :param resource_ids: only these resources. (templated)
    :param batch_size: resources per batch (one mapped task each).
    :param max_resources: at most this many resources per run, least recently captured first.
    :param archive_db_conn_id: Connection id of the archive state DB.
    """

    template_fields: Sequence[str] = ("site_filter", "exclude", "force", "resource_ids")

    def __init__(
        self,
        *,
        site_filter: Sequence[str] | str | None = None,
        exclude: Sequence[str] | str | None = None,
        force: bool | str | None = False,
        resource_ids: Sequence[int] | str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_resources: int = DEFAULT_MAX_RESOURCES_PER_RUN,
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.site_filter = site_filter
        self.exclude = exclude
        self.force = force
        self.resource_ids = resource_ids
        self.batch_size = batch_size
        self.max_resources = max_resources
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Any) -> list[list[int]]:
        settings = read_wayback_settings()
        require_enabled(settings, "candidate selection")
        with fail_on_bad_input():
            explicit = parse_ids(self.resource_ids, "resource_ids")
            site_filter = parse_names(self.site_filter, "site_filter")
            exclude = parse_names(self.exclude, "exclude")
            force = parse_flag(self.force, "force")
        resource_ids = explicit or resource_ids_from_asset_events(
            _asset_events(context),
            created_uri=EXTERNAL_RESOURCES_CREATED.uri,
            checked_uri=EXTERNAL_RESOURCES_CHECKED.uri,
        )
        criteria = CandidateCriteria(
            site_filter=site_filter,
            exclude=exclude,
            resource_ids=resource_ids,
            force=force,
            interval=settings.submission_interval,
            pending_window=settings.pending_expiry,
            limit=self.max_resources,
        )
        engine = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id).get_conn()
        ids = select_candidates(engine, criteria, dt.datetime.now(dt.UTC))
        batches = make_batches(ids, self.batch_size)
        if resource_ids is None:
            scope = "every valid resource"
        else:
            scope = f"only {plural(len(resource_ids), 'named resource')}"
        if criteria.force:
            interval = "ignoring the submission interval"
        else:
            interval = f"leaving out those captured in the last {plural(criteria.interval.days, 'day')}"
        self.log.info(
            "Selected %s for Wayback Machine capture, in %s of up to %d (sites: %s; excluded: %s; %s; %s).",
            plural(len(ids), "resource"),
            plural(len(batches), "batch", "batches"),
            self.batch_size,
            names(criteria.site_filter, empty="all"),
            names(criteria.exclude),
            scope,
            interval,
        )
        return batches


class WaybackSubmitOperator(BaseOperator):
    """Submit one batch of resources to SPN2 under the global rate limit, then (deferrable) wait for the results.

    Each request first takes a slot from the ``wayback_spn2`` bucket in the archive DB, so all runs, mapped
    tasks and workers together stay under ``WAYBACK_RATE_LIMIT_PER_SECOND``; a 429 pushes that bucket back by
    its Retry-After. Each outcome is recorded at once; resources already sent (by an earlier attempt, a rerun
    or another run) are skipped, so retries never capture twice. With ``deferrable=True`` the task then waits
    in the triggerer for the jobs to finish and records their statuses, within SPN2's one-hour status window.
    The task fails after recording everything if any request failed (no answer, 5xx, rate limit exhausted),
    so Airflow's retry resends exactly those.

    :param resource_ids: the batch of resource ids. (templated)
    :param force: ignore the submission interval and pending window (never resends within this run). (templated)
    :param wayback_conn_id: Connection id of the SPN2 API.
    :param archive_db_conn_id: Connection id of the archive state DB.
    :param deferrable: wait for the capture jobs in the triggerer and record their statuses.
    :param poll_interval: seconds between status polls while deferred.
    :param status_timeout: seconds to wait for the jobs before leaving them to ``wayback_status_update``.
    :param max_attempts_per_url: attempts per URL when SPN2 answers 429.
    """

    template_fields: Sequence[str] = ("resource_ids", "force")

    def __init__(
        self,
        *,
        resource_ids: Sequence[int] | str,
        force: bool | str | None = False,
        wayback_conn_id: str = WaybackHook.default_conn_name,
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        deferrable: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        status_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_attempts_per_url: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource_ids = resource_ids
        self.force = force
        self.wayback_conn_id = wayback_conn_id
        self.archive_db_conn_id = archive_db_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.status_timeout = status_timeout
        self.max_attempts_per_url = max_attempts_per_url

    def execute(self, context: Any) -> dict[str, Any]:
        settings = read_wayback_settings()
        require_enabled(settings, "submission")
        with fail_on_bad_input():
            resource_ids = parse_ids(self.resource_ids, "resource_ids")
            force = parse_flag(self.force, "force")
        criteria = CandidateCriteria(
            resource_ids=resource_ids,
            force=force,
            force_cutoff=_run_started_at(context) if force else None,
            interval=settings.submission_interval,
            pending_window=settings.pending_expiry,
        )
        engine = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id).get_conn()
        limiter = DbRateLimiter(
            engine, RATE_LIMIT_BUCKET, settings.rate_per_second, max_wait_seconds=MAX_RATE_LIMIT_WAIT_SECONDS
        )
        hook = WaybackHook(wayback_conn_id=self.wayback_conn_id)
        try:
            summary = submit_batch(
                engine,
                hook,
                limiter,
                resource_ids,
                criteria,
                max_attempts_per_url=self.max_attempts_per_url,
                run_id=str(context.get("run_id") or ""),
            )
        finally:
            hook.close()
        if summary.job_ids and self.deferrable:
            self.defer(
                trigger=WaybackJobsTrigger(
                    job_ids=summary.job_ids,
                    wayback_conn_id=self.wayback_conn_id,
                    poll_interval=self.poll_interval,
                    timeout=self.status_timeout,
                ),
                method_name="execute_complete",
                kwargs={"submission": summary.to_dict()},
                # The trigger reports by itself at its deadline; this is only a backstop.
                timeout=dt.timedelta(seconds=self.status_timeout + 10 * 60),
            )
        return self._finish(context, summary, None)

    def execute_complete(
        self,
        context: Any,
        event: dict[str, Any] | None = None,
        submission: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        summary = SubmissionSummary.from_dict(submission or {})
        event = event or {}
        statuses = [JobStatus.from_dict(item) for item in event.get("statuses", [])]
        engine = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id).get_conn()
        recorded = record_job_statuses(engine, statuses, requested=summary.job_ids)
        self.log.info("%s", recorded.describe())
        if event.get("timed_out"):
            self.log.warning(
                "%s still pending at the deadline; the wayback_status_update DAG follows up on them.",
                plural(recorded.pending + recorded.not_reported, "capture job was", "capture jobs were"),
            )
        if event.get("last_error"):
            self.log.warning("Polling SPN2 for the job statuses hit errors; the last one: %s", event["last_error"])
        return self._finish(context, summary, recorded.to_dict())

    def _finish(self, context: Any, summary: SubmissionSummary, statuses: dict[str, int] | None) -> dict[str, Any]:
        self.log.info("%s", details_line(context))
        result = {"submission": summary.to_dict(), "statuses": statuses}
        if summary.failed:
            raise AirflowException(
                f"{summary.failed} of {summary.requested} Wayback submissions failed and were recorded as errors "
                f"(a retry resends only those): {'; '.join(summary.errors[:5])}"
            )
        return result


class WaybackStatusUpdateOperator(BaseOperator):
    """Ask SPN2 for the status of pending capture jobs (50 per request) and expire jobs it can no longer report.

    :param site_filter: only these sites' resources (``site_name`` or ``site_short_id``). (templated)
    :param job_ids: only these job ids (empty: every pending job). (templated)
    :param chunk_size: job ids per status request.
    :param wayback_conn_id: Connection id of the SPN2 API.
    :param archive_db_conn_id: Connection id of the archive state DB.
    """

    template_fields: Sequence[str] = ("site_filter", "job_ids")

    def __init__(
        self,
        *,
        site_filter: Sequence[str] | str | None = None,
        job_ids: Sequence[str] | str | None = None,
        chunk_size: int = STATUS_CHUNK_SIZE,
        wayback_conn_id: str = WaybackHook.default_conn_name,
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.site_filter = site_filter
        self.job_ids = job_ids
        self.chunk_size = chunk_size
        self.wayback_conn_id = wayback_conn_id
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Any) -> dict[str, int]:
        settings = read_wayback_settings()
        require_enabled(settings, "status update")
        with fail_on_bad_input():
            job_ids = parse_names(self.job_ids, "job_ids")
            site_filter = parse_names(self.site_filter, "site_filter")
        engine = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id).get_conn()
        hook = WaybackHook(wayback_conn_id=self.wayback_conn_id)
        try:
            summary = update_job_statuses(
                engine,
                hook,
                site_filter=site_filter,
                job_ids=job_ids or None,
                chunk_size=self.chunk_size,
            )
        finally:
            hook.close()
        summary.expired = expire_stale_jobs(engine, max_age=settings.pending_expiry)
        self.log.info("Wayback status update finished. %s", summary.describe())
        self.log.info("%s", details_line(context))
        return summary.to_dict()
