"""Operators for the weekly external-resource link check."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from ocw_operators.external_resources.store import (
    CHECK_BATCH_SIZE,
    chunked,
    load_urls,
    record_check_results,
    record_check_run,
    select_resource_ids,
)
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.linkcheck.rules import describe_counts
from ocw_operators.params import parse_names
from ocw_operators.settings import fail_on_bad_input, setting
from ocw_operators.text import names, plural
from ocw_operators.web.links import details_line

# Airflow's [core] max_map_length: a longer list would fail the mapping; batches grow instead.
MAX_MAPPED_BATCHES = 1024


def batch_size_for(count: int, preferred: int = CHECK_BATCH_SIZE, max_batches: int = MAX_MAPPED_BATCHES) -> int:
    """ocw-studio's batch size, grown just enough that the batch count stays mappable."""
    needed = -(-count // max_batches) if count else preferred
    return max(preferred, needed)


class ListResourceBatchesOperator(BaseOperator):
    """Select the resources to check and return them as batches of ids (the input of the mapped check).

    Skips the whole run when the Variable ``ENABLE_CHECK_EXTERNAL_RESOURCE_TASK`` is false.

    :param site_filter: only resources of these sites (name or short id); empty for all. (templated)
    :param exclude: leave out resources of these sites. (templated)
    :param batch_size: resources per mapped check task; default: Variable ``LINK_CHECK_BATCH_SIZE``. Larger
        batches mean fewer tasks, which pays on small clusters.
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    template_fields: Sequence[str] = ("site_filter", "exclude")

    def __init__(
        self,
        *,
        site_filter: Sequence[str] | str = (),
        exclude: Sequence[str] | str = (),
        batch_size: int | None = None,
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.site_filter = site_filter
        self.exclude = exclude
        self.batch_size = batch_size
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> list[list[int]]:
        if not setting("ENABLE_CHECK_EXTERNAL_RESOURCE_TASK"):
            raise AirflowSkipException("External resource checks are disabled (ENABLE_CHECK_EXTERNAL_RESOURCE_TASK)")
        with fail_on_bad_input():
            sites = parse_names(self.site_filter, "site_filter")
            excluded = parse_names(self.exclude, "exclude")
        preferred = setting("LINK_CHECK_BATCH_SIZE", self.batch_size)
        hook = ArchiveDbHook(self.archive_db_conn_id)
        hook.check_schema()
        with hook.session() as session:
            ids = select_resource_ids(session, sites=sites, exclude=excluded)
        size = batch_size_for(len(ids), preferred)
        batches = chunked(ids, size)
        self.log.info(
            "Selected %s to check (sites: %s; excluded: %s), in %s of up to %d.",
            plural(len(ids), "external resource"),
            names(sites, empty="all"),
            names(excluded),
            plural(len(batches), "batch", "batches"),
            size,
        )
        return batches


class CheckExternalResourcesOperator(BaseOperator):
    """Check one batch of resources concurrently and store each status (ocw-studio's status rules).

    Checker tuning comes from Variables read at run time unless given here.

    :param resource_ids: the batch (one element of the list from :class:`ListResourceBatchesOperator`).
    :param archive_db_conn_id: Connection of the archive state DB.
    :param total_timeout_s: total time per URL; default: Variable ``LINK_CHECK_TIMEOUT_SECONDS``.
    :param per_host_limit: concurrent requests per host; default: Variable ``LINK_CHECK_PER_HOST_LIMIT``.
    :param max_concurrency: concurrent requests in all; default: Variable ``LINK_CHECK_MAX_CONCURRENCY``.
    """

    template_fields: Sequence[str] = ("resource_ids",)

    def __init__(
        self,
        *,
        resource_ids: Sequence[int],
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        total_timeout_s: float | None = None,
        per_host_limit: int | None = None,
        max_concurrency: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource_ids = resource_ids
        self.archive_db_conn_id = archive_db_conn_id
        self.total_timeout_s = total_timeout_s
        self.per_host_limit = per_host_limit
        self.max_concurrency = max_concurrency

    def _settings(self):
        from ocw_operators.linkcheck.checker import CheckSettings  # noqa: PLC0415  (aiohttp only when checking)

        return CheckSettings(
            total_timeout_s=setting("LINK_CHECK_TIMEOUT_SECONDS", self.total_timeout_s),
            per_host_limit=setting("LINK_CHECK_PER_HOST_LIMIT", self.per_host_limit),
            max_concurrency=setting("LINK_CHECK_MAX_CONCURRENCY", self.max_concurrency),
        )

    def execute(self, context: Context) -> dict[str, int]:
        from ocw_operators.linkcheck.checker import check_links  # noqa: PLC0415

        ids = [int(value) for value in self.resource_ids]
        context["batch_label"] = f"resources {ids[0]}-{ids[-1]} ({len(ids)})" if ids else "empty batch"
        hook = ArchiveDbHook(self.archive_db_conn_id)
        with hook.session() as session:
            items = load_urls(session, ids)
        results = check_links(items, self._settings())
        with hook.session() as session:
            counts = record_check_results(session, results, dt.datetime.now(dt.UTC), str(context.get("run_id") or ""))
        self.log.info("Checked %s: %s.", plural(len(results), "resource"), describe_counts(counts))
        return dict(counts)


class SummarizeLinkCheckOperator(BaseOperator):
    """Add up the batch counts, log them, and return them (the DAG attaches the checked-resources Asset).

    :param check_task_id: task id of the mapped check whose XComs are summed.
    :param archive_db_conn_id: Connection of the archive state DB (the run's counts are kept for the trend).
    """

    def __init__(
        self, *, check_task_id: str, archive_db_conn_id: str = ArchiveDbHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.check_task_id = check_task_id
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        totals: Counter = Counter()
        # A list of task ids always returns a list, one value per map index: with a single task id and a single
        # mapped batch, xcom_pull returns that batch's dict itself.
        batches = context["ti"].xcom_pull(task_ids=[self.check_task_id], default=[]) or []
        for counts in batches:
            totals.update(counts or {})
        self.log.info(
            "Link check finished: %s checked in %s: %s.",
            plural(sum(totals.values()), "resource"),
            plural(len(batches), "batch", "batches"),
            describe_counts(totals),
        )
        with ArchiveDbHook(self.archive_db_conn_id).session() as session:
            record_check_run(session, context["dag"].dag_id, context["run_id"], totals, dt.datetime.now(dt.UTC))
        self.log.info("%s", details_line(context))
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {"counts": dict(totals)}
        return dict(totals)
