"""Operators of the ``external_resource_import`` DAG: the markdown import and the announcement of new resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from ocw_operators.assets import EXTERNAL_RESOURCES_CREATED
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions, ImportOptionsError, Rule
from ocw_operators.external_resources.report import ImportReport, SiteStatus
from ocw_operators.external_resources.store import created_resource_ids
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.params import parse_flag, parse_names
from ocw_operators.reports import run_report_path
from ocw_operators.settings import data_dir, fail_on_bad_input, setting
from ocw_operators.text import plural
from ocw_operators.web.links import details_line


class ExternalResourceImportOperator(BaseOperator):
    """Convert external markdown links and menu items of course sites into external resources.

    The Airflow face of ``python -m ocw_operators resources import-markdown`` (ocw-studio's ``markdown_cleanup``
    with the ``link_to_external_resource`` and ``nav_item_to_external_resource`` rules). Dry run unless ``commit``.
    Every run writes its per-link report: to ``out_csv``, or else to ``<data dir>/reports/<dag_id>/<run id>.csv``
    (data dir: ``data_dir``, else the Variable ``OCW_DATA_DIR``). A resource belongs to
    one site and is looked up by (site, URL) first, with a UUID derived from both for a new one, so a retry or rerun
    reuses it and a rerun after a complete commit changes nothing. Sites whose files cannot be used are reported
    and fail the task at the end (with :class:`AirflowFailException`: bad input does not improve on retry); the
    other sites are still processed and committed. A site that is a git checkout gets one commit for the files the
    run wrote, by the Variable ``OCW_SITES_GIT_AUTHOR`` (``Name <email>``), pushed only to the remote the Variable
    ``OCW_SITES_GIT_PUSH_REMOTE`` names.

    :param sites_dir: folder with one course checkout per folder (templated); empty: Variable ``OCW_SITES_DIR``.
    :param rules: rule names to run (templated; a list or a comma-separated string).
    :param commit: save resources/references and rewrite the site files (templated).
    :param out_csv: write the per-link report to this CSV path on the worker instead of the default (templated).
    :param data_dir: folder for the default report path (templated); empty: Variable ``OCW_DATA_DIR``.
    :param published_only: only the sites ``<sites_dir>/published.txt`` names (templated).
    :param add_external_license_warning: warn for every domain (templated).
    :param no_external_license_warning: warn for no domain (templated; exclusive with the previous one).
    :param sitemap_domain: host that gets no license warning by default (templated); empty: Variable
        ``OCW_SITEMAP_DOMAIN``.
    :param site_names: only these sites; empty means all (templated).
    :param archive_db_conn_id: Connection of the archive DB.
    :return: the import summary (counts, skipped sites, site errors, CSV path).
    """

    template_fields: Sequence[str] = (
        "sites_dir",
        "rules",
        "commit",
        "out_csv",
        "published_only",
        "add_external_license_warning",
        "no_external_license_warning",
        "sitemap_domain",
        "site_names",
        "data_dir",
    )
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        sites_dir: str | None = None,
        rules: Sequence[str] | str = tuple(Rule),
        commit: bool | str = False,
        out_csv: str | None = None,
        published_only: bool | str = False,
        add_external_license_warning: bool | str = False,
        no_external_license_warning: bool | str = False,
        sitemap_domain: str | None = None,
        site_names: Sequence[str] | str = (),
        data_dir: str | None = None,
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sites_dir = sites_dir
        self.rules = rules
        self.commit = commit
        self.out_csv = out_csv
        self.published_only = published_only
        self.add_external_license_warning = add_external_license_warning
        self.no_external_license_warning = no_external_license_warning
        self.sitemap_domain = sitemap_domain
        self.site_names = site_names
        self.data_dir = data_dir
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        options = self._options(run_id=context["run_id"], out_csv=self._report_path(context["run_id"]))
        hook = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id)
        hook.check_schema()
        try:
            report = import_sites(hook.get_conn(), options)
        except FileNotFoundError as error:
            raise AirflowFailException(str(error)) from None
        summary = report.summary()
        self._log_report(report, summary)
        self.log.info("%s", details_line(context))
        if report.errors:
            context["ti"].xcom_push(key="import_summary", value=summary)
            names = ", ".join(site.name for site in report.errors)
            raise AirflowFailException(
                f"{len(report.errors)} site(s) could not be fully imported ({names}); the others were processed. "
                "Fix the files named in the log and rerun: completed work is not repeated."
            )
        return summary

    def _report_path(self, run_id: str) -> str:
        """``out_csv``, else this run's file under the data dir (a retry of the run rewrites the same file)."""
        explicit = str(self.out_csv).strip() if self.out_csv else ""
        return explicit or str(run_report_path(data_dir(self.data_dir), self.dag_id, run_id))

    def _options(self, *, run_id: str, out_csv: str | None) -> ImportOptions:
        sites_dir = setting("OCW_SITES_DIR", self.sites_dir)
        sitemap_domain = setting("OCW_SITEMAP_DOMAIN", self.sitemap_domain)
        try:
            with fail_on_bad_input():
                return ImportOptions.build(
                    sites_dir=str(sites_dir),
                    rules=parse_names(self.rules, "rules"),
                    run_id=run_id,
                    commit=parse_flag(self.commit, "commit"),
                    out_csv=out_csv,
                    published_only=parse_flag(self.published_only, "published_only"),
                    add_external_license_warning=parse_flag(
                        self.add_external_license_warning, "add_external_license_warning"
                    ),
                    no_external_license_warning=parse_flag(
                        self.no_external_license_warning, "no_external_license_warning"
                    ),
                    sitemap_domain=sitemap_domain,
                    site_names=parse_names(self.site_names, "site_names"),
                    git_author=setting("OCW_SITES_GIT_AUTHOR"),
                    git_push_remote=setting("OCW_SITES_GIT_PUSH_REMOTE") or "",
                )
        except ImportOptionsError as error:
            raise AirflowFailException(f"invalid import options: {error}") from None

    def _log_report(self, report: ImportReport, summary: dict[str, Any]) -> None:
        converted = (
            f"{plural(summary['links_converted'], 'link')} and {plural(summary['nav_items_converted'], 'menu item')}"
        )
        reused = summary["references_to_existing_resources"]
        loaded = summary["resources_loaded"] if report.commit else summary["resources_would_load"]
        sites = plural(summary["sites_processed"], "site")
        skipped = sum(1 for site in report.sites if site.status is SiteStatus.SKIPPED)
        if skipped or report.errors:
            sites += f" ({skipped} skipped, {len(report.errors)} with errors)"
        if report.commit:
            self.log.info(
                "Committed the import of %s: converted %s, created %s (existing ones reused for %d), loaded %s "
                "the sites already had, rewrote %s.",
                sites,
                converted,
                plural(summary["resources_created"], "external resource"),
                reused,
                plural(loaded, "external-resource page"),
                plural(summary["files_rewritten"], "file"),
            )
            for site, commit in summary["commits"].items():
                self.log.info("Committed the files of %s to its git checkout as %s.", site, commit[:12])
        else:
            self.log.info(
                "Dry run over %s: %s would be converted, creating %s (existing ones reused for %d) and loading %s "
                "the sites already have. Nothing was saved and no site file was changed; set Commit to apply it.",
                sites,
                converted,
                plural(summary["resources_would_create"], "external resource"),
                reused,
                plural(loaded, "external-resource page"),
            )
        for skipped in report.sites:
            if skipped.status is SiteStatus.SKIPPED:
                self.log.info("Skipped site %s: %s.", skipped.name, skipped.reason.rstrip("."))
        for failed in report.errors:
            self.log.error("Site %s could not be fully imported: %s.", failed.name, failed.reason.rstrip("."))
        if report.csv_path:
            self.log.info(
                "Wrote the report (%s) to %s.",
                plural(len(report.rows), "link or menu item", "links and menu items"),
                report.csv_path,
            )


class ExternalResourcesAnnounceOperator(BaseOperator):
    """Emit ``EXTERNAL_RESOURCES_CREATED`` with ``extra={"resource_ids": [...]}`` for resources this run created.

    This is ocw-studio's creation signal: the ``wayback_submit`` DAG is scheduled on the asset, so new resources
    are captured without polling. The ids come from the archive DB (``created_by_run`` = this run id), not from
    XCom, so resources inserted by an import attempt that later failed are announced too. With nothing new the
    task is skipped and no event is emitted. Use it as the DAG's teardown so it runs whatever the import's outcome
    and does not decide the run's state.

    :param archive_db_conn_id: Connection of the archive DB.
    """

    def __init__(self, *, archive_db_conn_id: str = ArchiveDbHook.default_conn_name, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [EXTERNAL_RESOURCES_CREATED])
        super().__init__(**kwargs)
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        hook = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id)
        resource_ids = created_resource_ids(hook.get_conn(), context["run_id"])
        if not resource_ids:
            raise AirflowSkipException("this run created no external resources; nothing to announce")
        context["outlet_events"][EXTERNAL_RESOURCES_CREATED].extra = {"resource_ids": resource_ids}
        self.log.info("Announcing %s for Wayback Machine capture.", plural(len(resource_ids), "new external resource"))
        self.log.info("%s", details_line(context))
        return {"resources_announced": len(resource_ids)}
