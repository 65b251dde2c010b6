"""Operators for the Tivoli tape archive: dropbox preparation, nightly load, retrieval.

Each is a thin adapter: it reads its settings (arguments first, then Airflow Variables read at run time),
takes the archive DB from :class:`~ocw_operators.hooks.archive_db.ArchiveDbHook`, and calls the plain
functions in :mod:`ocw_operators.tivoli`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import mask_secret

from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.params import parse_names, parse_number
from ocw_operators.settings import fail_on_bad_input, setting
from ocw_operators.tivoli.identifiers import InvalidIdentifierError, VolumeId
from ocw_operators.tivoli.load import LoadConfig, nightly_load_with_lease
from ocw_operators.tivoli.prep import PrepConfig, PrepConfigError, prepare_with_lease
from ocw_operators.tivoli.retrieve import (
    RetrievalError,
    VersionChoice,
    record_retrieval_failure,
    record_retrievals,
    retrieve_volume,
)
from ocw_operators.tivoli.summary import (
    held_failure,
    held_sentences,
    load_summary,
    prep_summary,
    retrieve_summary,
)
from ocw_operators.web.links import details_line


def dsmc_command(value: str | None) -> str:
    """The dsmc command line; any ``-password=`` value in it is masked in logs and rendered fields."""
    command = setting("TIVOLI_DSMC_COMMAND", value)
    for part in command.split():
        if part.lower().startswith("-password="):
            mask_secret(part.split("=", 1)[1])
    return command


def lease_holder(context: Context) -> str:
    """Unique per task try: a zombie of try 1 and its retry (try 2) never share a lease."""
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/try-{ti.try_number}"[:250]


class TivoliDropboxPrepOperator(BaseOperator):
    """Run the Tivoli Preparation Tool once over the dropbox (see :mod:`ocw_operators.tivoli.prep`).

    Moves finished resource folders into the staging area, discarding files already archived, renaming
    changed ones with the date, and writing the Tivoli file log. Holds the staging lease in the archive DB
    for the whole run, so overlapping runs or the nightly load on another worker never touch the same files.
    Logs what it did in sentences and returns a summary (volumes and files staged, renamed and discarded,
    folders skipped and why). A volume that cannot be read or moved (permissions, a full staging area, an
    I/O error) is held in the dropbox with its reason, recorded in ``tivoli_held_volume``, and the others are
    staged; the task then fails without retrying, naming the held volumes, and the next run tries them again.

    :param dropbox_dir: the dropbox; default the Variable ``TIVOLI_DROPBOX_DIR``. (templated)
    :param staging_dir: the staging area the nightly load archives; default ``TIVOLI_STAGING_DIR``. (templated)
    :param quiet_minutes: skip folders written to within this many minutes; default ``TIVOLI_QUIET_MINUTES``.
        (templated)
    :param copy_only: copy + fsync + verify + delete instead of rename (staging on another file system is
        detected automatically; this forces it).
    :param lease_wait: how long to wait for a staging lease held by another run before failing (and retrying).
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    template_fields: Sequence[str] = ("dropbox_dir", "staging_dir", "quiet_minutes")
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        dropbox_dir: str | None = None,
        staging_dir: str | None = None,
        quiet_minutes: float | str | None = None,
        copy_only: bool = False,
        lease_wait: dt.timedelta = dt.timedelta(minutes=5),
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dropbox_dir = dropbox_dir
        self.staging_dir = staging_dir
        self.quiet_minutes = quiet_minutes
        self.copy_only = copy_only
        self.lease_wait = lease_wait
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        config = PrepConfig(
            dropbox=setting("TIVOLI_DROPBOX_DIR", self.dropbox_dir),
            staging=setting("TIVOLI_STAGING_DIR", self.staging_dir),
            quiet_period=dt.timedelta(minutes=setting("TIVOLI_QUIET_MINUTES", self.quiet_minutes)),
            allow_rename=not self.copy_only,
        )
        hook = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id)
        hook.check_schema()
        try:
            report = prepare_with_lease(
                hook.get_conn(), config, holder=lease_holder(context), lease_wait=self.lease_wait
            )
        except PrepConfigError as error:
            raise AirflowFailException(str(error)) from error
        for sentence in prep_summary(report):
            self.log.info("%s", sentence)
        for sentence in held_sentences(report):
            self.log.error("%s", sentence)
        self.log.info("%s", details_line(context))
        if report.held:
            # Only now, with every other volume staged: the operator must act (permissions, disk space), so the
            # task fails without retrying; the next scheduled run tries the held volumes again.
            raise AirflowFailException(held_failure(report))
        return report.as_dict()


class TivoliNightlyLoadOperator(BaseOperator):
    """Archive the staging area with ``dsmc archive`` and delete only what it reports archived.

    Records a load batch keyed by the DAG run (a retry of a finished run does nothing; a retry of a failed
    one runs again). A failed load (return code 12, timeout) deletes nothing and fails the task; a load
    with per-file failures deletes what was sent and fails so the rest is retried. Holds the staging lease.

    :param staging_dir: the staging area; default the Variable ``TIVOLI_STAGING_DIR``. (templated)
    :param dsmc_command: the dsmc command line (split like a shell would, run without one); default the
        Variable ``TIVOLI_DSMC_COMMAND``. (templated)
    :param timeout_minutes: stop dsmc after this long; default ``TIVOLI_DSMC_TIMEOUT_MINUTES``. (templated)
    :param lease_wait: how long to wait for a preparation still holding the staging lease.
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    template_fields: Sequence[str] = ("staging_dir", "dsmc_command", "timeout_minutes")
    ui_color = "#fde8e8"

    def __init__(
        self,
        *,
        staging_dir: str | None = None,
        dsmc_command: str | None = None,
        timeout_minutes: float | str | None = None,
        lease_wait: dt.timedelta = dt.timedelta(minutes=30),
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.staging_dir = staging_dir
        self.dsmc_command = dsmc_command
        self.timeout_minutes = timeout_minutes
        self.lease_wait = lease_wait
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        config = LoadConfig(
            staging=setting("TIVOLI_STAGING_DIR", self.staging_dir),
            dsmc_command=dsmc_command(self.dsmc_command),
            timeout=dt.timedelta(minutes=setting("TIVOLI_DSMC_TIMEOUT_MINUTES", self.timeout_minutes)),
        )
        hook = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id)
        hook.check_schema()
        report = nightly_load_with_lease(
            hook.get_conn(),
            config,
            run_key=f"{context['ti'].dag_id}/{context['run_id']}",
            holder=lease_holder(context),
            lease_wait=self.lease_wait,
        )
        for sentence in load_summary(report):
            self.log.info("%s", sentence)
        self.log.info("%s", details_line(context))
        return report.as_dict()


class TivoliRetrieveOperator(BaseOperator):
    """Retrieve archived files of one volume from Tivoli with ``dsmc retrieve``.

    Lists the versions from the Tivoli file log (every archived version, or only the latest of each file)
    and retrieves each into ``<destination>/<BibID>_<VID>/<folder>/<archived name>``, checking it against
    the logged SHA-1. Files already present with the right checksum are not fetched again.

    :param bibid: the BibID, two letters and eight digits. (templated)
    :param vid: the VID, five digits. (templated)
    :param file_names: only these files (original or archived names, optionally ``folder/name``); empty for
        all. (templated)
    :param versions: ``latest`` or ``all``. (templated)
    :param destination: an absolute folder; must lie inside the Variable ``TIVOLI_RETRIEVE_ROOT`` when that
        is set. (templated)
    :param dsmc_command: default the Variable ``TIVOLI_DSMC_COMMAND``. (templated)
    :param timeout_minutes: per file. (templated)
    :param archive_db_conn_id: Connection of the archive state DB.
    """

    template_fields: Sequence[str] = (
        "bibid",
        "vid",
        "file_names",
        "versions",
        "destination",
        "dsmc_command",
        "timeout_minutes",
    )
    ui_color = "#e8fde8"

    def __init__(
        self,
        *,
        bibid: str,
        vid: str,
        destination: str,
        file_names: Sequence[str] | str = (),
        versions: str = "latest",
        dsmc_command: str | None = None,
        timeout_minutes: float | str = 60,
        archive_db_conn_id: str = ArchiveDbHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bibid = bibid
        self.vid = vid
        self.destination = destination
        self.file_names = file_names
        self.versions = versions
        self.dsmc_command = dsmc_command
        self.timeout_minutes = timeout_minutes
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            volume = VolumeId(str(self.bibid), str(self.vid))
            choice = VersionChoice(str(self.versions).strip().lower())
        except (InvalidIdentifierError, ValueError) as error:
            raise AirflowFailException(f"bad retrieval request: {error}") from error
        with fail_on_bad_input():
            file_names = parse_names(self.file_names, "file_names")
            timeout = parse_number(self.timeout_minutes, "timeout_minutes", minimum=0)
        root = setting("TIVOLI_RETRIEVE_ROOT")
        hook = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id)
        hook.check_schema()
        run_id = str(context.get("run_id") or "")
        try:
            report = retrieve_volume(
                hook.get_conn(),
                volume,
                Path(str(self.destination)),
                dsmc_command=dsmc_command(self.dsmc_command),
                file_names=file_names,
                choice=choice,
                timeout=dt.timedelta(minutes=timeout),
                allowed_root=root,
            )
        except RetrievalError as error:
            record_retrieval_failure(hook.get_conn(), run_id, volume, str(self.destination), str(error))
            raise AirflowFailException(str(error)) from error
        record_retrievals(hook.get_conn(), run_id, volume, report)
        for sentence in retrieve_summary(report):
            self.log.info("%s", sentence)
        self.log.info("%s", details_line(context))
        return report.as_dict()
