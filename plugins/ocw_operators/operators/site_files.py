"""The write-back of link status and Wayback URLs into the course sites, after the check, the captures and the status
update (domain logic in :mod:`ocw_operators.external_resources.site_files`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from ocw_operators.external_resources.site_files import MAX_LISTED, WriteBackReport, write_back
from ocw_operators.external_resources.site_git import DEFAULT_TIMEOUT_SECONDS, GitSettings
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.params import is_empty, parse_flag, parse_names
from ocw_operators.settings import fail_on_bad_input, parse_setting, read_variable, setting
from ocw_operators.text import names, plural


def git_settings(timeout_s: float = DEFAULT_TIMEOUT_SECONDS) -> GitSettings:
    """Commit author and push remote from their Variables; a malformed value fails the task without retrying."""
    author, remote = setting("OCW_SITES_GIT_AUTHOR"), setting("OCW_SITES_GIT_PUSH_REMOTE") or ""
    try:
        return GitSettings.parse(author, remote, timeout_s)
    except ValueError as error:
        raise AirflowFailException(f"Variable OCW_SITES_GIT_AUTHOR or OCW_SITES_GIT_PUSH_REMOTE: {error}") from None


def sites_folder(override: str | None) -> Path | None:
    """``override``, else the Variable ``OCW_SITES_DIR``; None when neither is set (nothing to write back)."""
    raw = read_variable("OCW_SITES_DIR") if is_empty(override) else override
    if raw is None:
        return None
    with fail_on_bad_input():
        return parse_setting("OCW_SITES_DIR", raw)


class WriteSiteFilesOperator(BaseOperator):
    """Write each changed resource's ``status`` and ``wayback_url`` into its external-resource page in the sites.

    Skips when no sites folder is set (``sites_dir``, else the Variable ``OCW_SITES_DIR``). Pages already in line
    with the archive DB are not touched, so a retry or rerun writes and commits nothing more. In a site that is a git
    checkout the pages written are one commit (author: Variable ``OCW_SITES_GIT_AUTHOR``, ``Name <email>``), pushed
    to the remote the Variable ``OCW_SITES_GIT_PUSH_REMOTE`` names, if any, within ``git_timeout`` seconds. Pages
    that changed on disk since they were read, or hold someone's uncommitted changes, are skipped and listed in the
    log. A git failure (e.g. a push refused or timed out) fails the task after every site was handled; the retry
    pushes what is still unpushed.

    :param sites_dir: folder with one course site per folder (templated); empty: Variable ``OCW_SITES_DIR``.
    :param site_filter: only these sites (folder name or short id) (templated).
    :param exclude: never these sites (templated).
    :param dry_run: only log and return what would change (templated).
    :param context_label: what the commit message says the values come from, e.g. "link check".
    :param git_timeout: seconds each git command (the push above all) may take.
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    template_fields: Sequence[str] = ("sites_dir", "site_filter", "exclude", "dry_run")
    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        sites_dir: str | None = None,
        site_filter: Sequence[str] | str | None = None,
        exclude: Sequence[str] | str | None = None,
        dry_run: bool | str | None = False,
        context_label: str = "",
        git_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sites_dir = sites_dir
        self.site_filter = site_filter
        self.exclude = exclude
        self.dry_run = dry_run
        self.context_label = context_label
        self.git_timeout = git_timeout
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        folder = sites_folder(self.sites_dir)
        if folder is None:
            raise AirflowSkipException("No sites folder is set (Variable OCW_SITES_DIR); no site file to update")
        with fail_on_bad_input():
            dry_run = parse_flag(self.dry_run, "dry_run")
            site_filter = parse_names(self.site_filter, "site_filter")
            exclude = parse_names(self.exclude, "exclude")
        settings = git_settings(self.git_timeout)
        hook = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id)
        label = f"{self.dag_id} run {context['run_id']}" + (f" ({self.context_label})" if self.context_label else "")
        try:
            report = write_back(
                hook.get_conn(),
                folder,
                site_filter=site_filter,
                exclude=exclude,
                dry_run=dry_run,
                git=settings,
                context=label,
            )
        except FileNotFoundError as error:
            raise AirflowFailException(str(error)) from None
        self._log_report(report, site_filter, settings)
        summary = report.summary()
        if report.errors:
            failed = {site.site: "; ".join(site.errors) for site in report.errors}
            raise AirflowException(
                f"{plural(len(failed), 'site')} could not be updated or committed: "
                + "; ".join(f"{site}: {error}" for site, error in list(failed.items())[:5])
            )
        return summary

    def _log_report(self, report: WriteBackReport, site_filter: list[str], settings: GitSettings) -> None:
        changed = [(site.site, change) for site in report.sites for change in site.changes]
        scope = names(site_filter, empty="every site")
        if report.dry_run:
            self.log.info(
                "Dry run over %s: %s would change; nothing was written.",
                scope,
                plural(len(changed), "external-resource page"),
            )
        else:
            written = sum(len(site.written) for site in report.sites)
            self.log.info(
                "Updated %s of %s with the archive DB's link status and Wayback URLs (%s).",
                plural(written, "external-resource page"),
                scope,
                plural(sum(1 for site in report.sites if site.written), "site"),
            )
        for site, change in changed[:MAX_LISTED]:
            self.log.info("%s %s: %s", "Would change" if report.dry_run else "Changed", site, change.describe())
        if len(changed) > MAX_LISTED:
            self.log.info("... and %d more pages.", len(changed) - MAX_LISTED)
        for site in report.sites:
            if site.commit:
                self.log.info("Committed %s as %s by %s.", site.site, site.commit[:12], settings.author)
            if site.pushed:
                self.log.info("Pushed %s to its remote %s.", site.site, settings.push_remote)
            for path, reason in site.skipped:
                self.log.warning("Skipped %s/%s: %s.", site.site, path, reason.rstrip("."))
            for error in site.errors:
                self.log.error("Site %s: %s.", site.site, error.rstrip("."))
