"""The nightly load: archive the staging area with ``dsmc``, then delete only what it reports archived.

Order, so that a crash anywhere never deletes an unarchived file and never loses track of one:

1. finish a previous load that stopped after recording but before deleting (rows ``archived``, files still
   in staging): those files are deleted now;
2. run the archive command (argv list, stdin closed, timeout) with its output in a file;
3. a failed load (timeout, return code 12 or unknown) records the batch as failed and deletes nothing;
4. otherwise every file reported ``[Sent]`` that matches a staged log row (same path and size) becomes
   ``archived`` in one transaction, with the load batch and the volume tracking status;
5. only then are those files deleted from staging; files dsmc reported that have no log row are left and
   reported (the log is what retrieval relies on).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ocw_operators.db.base import utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import (
    FileState,
    LoadStatus,
    TivoliFileLog,
    TivoliLoadBatch,
    TivoliVolumeStatus,
    VolumeStatus,
)
from ocw_operators.tivoli.dsmc import (
    RC_ERRORS,
    RC_SKIPPED,
    RC_SUCCESS,
    RC_WARNINGS,
    DsmcRun,
    archive_argv,
    command_prefix,
    parse_archive_output,
    read_lines,
    redact,
    run_dsmc,
)
from ocw_operators.tivoli.filesystem import remove_empty_dirs
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.lease import STAGING_LEASE, held_lease
from ocw_operators.tivoli.summary import listing

log = logging.getLogger(__name__)

DEFAULT_LOAD_TIMEOUT = dt.timedelta(hours=6)
MAX_REPORTED_PATHS = 50
_CHUNK = 500

Runner = Callable[..., DsmcRun]


class LoadFailedError(RuntimeError):
    """The archive command failed; nothing was deleted from staging."""


class LoadIncompleteError(RuntimeError):
    """Some staged files were not archived (dsmc warnings); the archived ones were deleted."""


@dataclass(frozen=True)
class LoadConfig:
    staging: Path
    dsmc_command: str = "dsmc"
    timeout: dt.timedelta = DEFAULT_LOAD_TIMEOUT
    description_prefix: str = "OCW Tivoli load"


@dataclass
class LoadReport:
    batch_id: int
    status: str
    return_code: int | None = None
    files_staged: int = 0
    files_reported: int = 0
    files_archived: int = 0
    files_deleted: int = 0
    bytes_archived: int = 0
    leftovers_deleted: int = 0
    not_in_log: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    already_finished: bool = False  # a retry of a run whose load had finished: nothing was done again
    # The first MAX_REPORTED_PATHS volumes (and how many in all) and archived files, as <volume>/<folder>/<name>.
    volumes: list[str] = field(default_factory=list)
    volumes_count: int = 0
    archived_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        return data

    def name_archived(self, archived: list[_StagedRow]) -> None:
        volumes = sorted({f"{row.bibid}_{row.vid}" for row in archived})
        self.volumes, self.volumes_count = volumes[:MAX_REPORTED_PATHS], len(volumes)
        self.archived_files = [_volume_relpath(row) for row in archived[:MAX_REPORTED_PATHS]]


@dataclass
class _StagedRow:
    id: int
    bibid: str
    vid: str
    staging_path: str
    size: int


def _volume_relpath(row: _StagedRow) -> str:
    """``UF/12/34/56/78/00001/images/a.jp2`` -> ``UF12345678_00001/images/a.jp2``."""
    volume = VolumeId(row.bibid, row.vid)
    try:
        inside = PurePosixPath(row.staging_path).relative_to(volume.staging_relpath)
    except ValueError:  # not where the preparation puts it: name it as logged rather than fail the load
        return row.staging_path
    return f"{volume.flat}/{inside}"


def nightly_load(
    engine: Engine,
    config: LoadConfig,
    *,
    run_key: str,
    clock: Callable[[], dt.datetime] = utcnow,
    runner: Runner = run_dsmc,
    heartbeat: Callable[[], None] | None = None,
) -> LoadReport:
    """Archive everything staged; idempotent per ``run_key`` (a retry after success does nothing)."""
    staging = _checked_staging(config.staging)
    leftovers = delete_archived_leftovers(engine, staging)  # step 1
    batch_id, finished, retried = _open_batch(engine, run_key, staging, config, clock())
    if finished is not None:
        log.info("Load %s already finished as batch %d (%s); nothing to do", run_key, batch_id, finished.status)
        finished.already_finished = True
        return finished
    staged = _staged_rows(engine)
    if not staged:
        # A retry that finds nothing left: the earlier attempt archived everything it could.
        status = LoadStatus.SUCCEEDED if retried else LoadStatus.EMPTY
        return _close_batch(engine, batch_id, LoadReport(batch_id, status, leftovers_deleted=leftovers), clock)
    argv = archive_argv(command_prefix(config.dsmc_command), staging, _description(engine, batch_id))
    _record_command(engine, batch_id, argv)
    log.info("Running %s over %d staged files", " ".join(redact(argv)), len(staged))
    with tempfile.TemporaryDirectory(prefix="tivoli-load-") as scratch:  # step 2
        run = runner(
            argv,
            output_path=Path(scratch) / "dsmc.out",
            timeout_seconds=config.timeout.total_seconds(),
            heartbeat=heartbeat,
        )
        parsed = parse_archive_output(read_lines(run.output_path))
    report = LoadReport(
        batch_id,
        LoadStatus.RUNNING,
        return_code=run.return_code,
        files_staged=len(staged),
        files_reported=len(parsed.sent),
        leftovers_deleted=leftovers,
        failed=parsed.failed[:MAX_REPORTED_PATHS],
        messages=parsed.messages,
    )
    if run.timed_out or run.return_code not in (RC_SUCCESS, RC_SKIPPED, RC_WARNINGS):  # step 3
        report.status = LoadStatus.FAILED
        report.messages.insert(0, _failure_reason(run, config))
        _close_batch(engine, batch_id, report, clock)
        raise LoadFailedError(f"dsmc load failed ({report.messages[0]}); nothing was deleted from staging")
    archived = _match_reported(staging, parsed.sent, staged, report)
    _mark_archived(engine, batch_id, archived, clock())  # step 4
    report.files_archived = len(archived)
    report.bytes_archived = sum(row.size for row in archived)
    report.name_archived(archived)
    report.files_deleted = _delete_from_staging(staging, archived)  # step 5
    remove_empty_dirs(staging)
    complete = run.return_code in (RC_SUCCESS, RC_SKIPPED) and len(archived) == len(staged)
    report.status = LoadStatus.SUCCEEDED if complete else LoadStatus.PARTIAL
    _close_batch(engine, batch_id, report, clock)
    if not complete:
        failed = f"; dsmc reported these failed: {listing(parsed.failed)}" if parsed.failed else ""
        raise LoadIncompleteError(
            f"dsmc returned {run.return_code}: {len(archived)} of {len(staged)} staged files were archived and "
            f"deleted from staging, the rest stay staged for the next load{failed}"
        )
    return report


def nightly_load_with_lease(
    engine: Engine,
    config: LoadConfig,
    *,
    run_key: str,
    holder: str,
    lease_wait: dt.timedelta = dt.timedelta(minutes=30),
    lease_ttl: dt.timedelta = dt.timedelta(minutes=10),
    runner: Runner = run_dsmc,
) -> LoadReport:
    """:func:`nightly_load` holding the staging lease, renewed while dsmc runs, so no preparation moves files
    meanwhile; a worker that dies stops renewing and the lease frees itself after ``lease_ttl``."""
    with held_lease(engine, STAGING_LEASE, holder, ttl=lease_ttl, wait=lease_wait) as heartbeat:
        return nightly_load(engine, config, run_key=run_key, runner=runner, heartbeat=heartbeat)


def _checked_staging(path: Path) -> Path:
    if not path.is_absolute() or not path.is_dir():
        raise ValueError(f"the staging directory {str(path)!r} must be an existing absolute directory")
    return path.resolve(strict=True)


def _failure_reason(run: DsmcRun, config: LoadConfig) -> str:
    if run.timed_out:
        return f"dsmc did not finish within {config.timeout} and was stopped"
    if run.return_code == RC_ERRORS:
        return "dsmc returned 12 (errors)"
    return f"dsmc returned {run.return_code}"


# --- the batch row -------------------------------------------------------------------------------------------


def _open_batch(
    engine: Engine, run_key: str, staging: Path, config: LoadConfig, now: dt.datetime
) -> tuple[int, LoadReport | None, bool]:
    """``(batch id, report if already finished, whether this is a retry of an unfinished batch)``."""
    with session_scope(engine, write_lock=True) as session:
        batch = session.scalars(
            select(TivoliLoadBatch).where(TivoliLoadBatch.run_key == run_key).with_for_update()
        ).one_or_none()
        if batch is None:
            batch = TivoliLoadBatch(run_key=run_key, description="", staging_root=str(staging), started_at=now)
            session.add(batch)
            session.flush()
            batch.description = f"{config.description_prefix} {batch.id} {now:%Y-%m-%d}"
            return batch.id, None, False
        if batch.status in (LoadStatus.SUCCEEDED, LoadStatus.EMPTY):
            return (
                batch.id,
                LoadReport(
                    batch.id,
                    batch.status,
                    return_code=batch.return_code,
                    files_reported=batch.files_reported,
                    files_archived=batch.files_archived,
                    files_deleted=batch.files_deleted,
                    bytes_archived=batch.bytes_archived,
                ),
                False,
            )
        batch.status = LoadStatus.RUNNING  # a retry of a failed or partial load: run again
        batch.staging_root = str(staging)
        return batch.id, None, True


def _description(engine: Engine, batch_id: int) -> str:
    with session_scope(engine) as session:
        return session.get(TivoliLoadBatch, batch_id).description


def _record_command(engine: Engine, batch_id: int, argv: list[str]) -> None:
    with session_scope(engine) as session:
        session.get(TivoliLoadBatch, batch_id).command = json.dumps(redact(argv))  # argv, unambiguous


def _close_batch(engine: Engine, batch_id: int, report: LoadReport, clock: Callable[[], dt.datetime]) -> LoadReport:
    with session_scope(engine) as session:
        batch = session.get(TivoliLoadBatch, batch_id)
        batch.status = report.status
        batch.return_code = report.return_code
        batch.files_reported += report.files_reported
        batch.files_archived += report.files_archived
        batch.files_deleted += report.files_deleted
        batch.bytes_archived += report.bytes_archived
        batch.message = "\n".join([*report.messages[:20], *(f"not in log: {p}" for p in report.not_in_log[:20])])
        batch.finished_at = clock()
    return report


# --- matching and recording ----------------------------------------------------------------------------------


def _staged_rows(engine: Engine) -> list[_StagedRow]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                TivoliFileLog.id, TivoliFileLog.bibid, TivoliFileLog.vid, TivoliFileLog.staging_path, TivoliFileLog.size
            ).where(TivoliFileLog.state == FileState.STAGED.value)
        ).all()
    return [_StagedRow(*row) for row in rows]


def _relative_to_staging(staging: Path, reported: str) -> str | None:
    path = PurePosixPath(reported)
    try:
        return str(path.relative_to(PurePosixPath(staging)))
    except ValueError:
        return None


def _match_reported(
    staging: Path, sent: Iterable[tuple[str, int]], staged: list[_StagedRow], report: LoadReport
) -> list[_StagedRow]:
    """Staged rows whose file dsmc reported sent with the logged size."""
    by_path = {row.staging_path: row for row in staged}
    archived: dict[int, _StagedRow] = {}
    for reported, size in sent:
        relative = _relative_to_staging(staging, reported)
        row = by_path.get(relative) if relative is not None else None
        if row is None or row.size != size:
            if len(report.not_in_log) < MAX_REPORTED_PATHS:
                report.not_in_log.append(reported)
            continue
        archived[row.id] = row
    if report.not_in_log:
        log.warning("dsmc archived %d+ files that have no staged log row; left in staging", len(report.not_in_log))
    return list(archived.values())


def _mark_archived(engine: Engine, batch_id: int, archived: list[_StagedRow], now: dt.datetime) -> None:
    if not archived:
        return
    with session_scope(engine) as session:
        ids = [row.id for row in archived]
        for start in range(0, len(ids), _CHUNK):
            session.execute(
                update(TivoliFileLog)
                .where(TivoliFileLog.id.in_(ids[start : start + _CHUNK]), TivoliFileLog.state == FileState.STAGED.value)
                .values(state=FileState.ARCHIVED.value, load_batch_id=batch_id)
            )
        _record_archived_volumes(session, archived, now)


def _record_archived_volumes(session: Session, archived: list[_StagedRow], now: dt.datetime) -> None:
    """Tracking status: some portion of the volume is now archived in Tivoli."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in archived:
        totals[(row.bibid, row.vid)][0] += 1
        totals[(row.bibid, row.vid)][1] += row.size
    existing = {
        (status.bibid, status.vid): status
        for status in session.scalars(
            select(TivoliVolumeStatus).where(TivoliVolumeStatus.bibid.in_({bibid for bibid, _ in totals}))
        )
    }
    for (bibid, vid), (files, size) in totals.items():
        status = existing.get((bibid, vid))
        if status is None:
            status = TivoliVolumeStatus(bibid=bibid, vid=vid, status=VolumeStatus.ARCHIVED.value, files_staged=0)
            status.files_archived, status.bytes_archived = 0, 0
            session.add(status)
        status.status = VolumeStatus.ARCHIVED.value
        status.files_archived += files
        status.bytes_archived += size
        status.last_archived_at = now


def _delete_from_staging(staging: Path, archived: Iterable[_StagedRow]) -> int:
    deleted = 0
    for row in archived:
        path = staging / row.staging_path
        if path.is_file() and not path.is_symlink() and path.stat().st_size == row.size:
            path.unlink()
            deleted += 1
    return deleted


def delete_archived_leftovers(engine: Engine, staging: Path) -> int:
    """Files whose rows say ``archived`` but that are still in staging (a load stopped before deleting)."""
    with session_scope(engine) as session:
        batches = {
            batch_id: root
            for batch_id, root in session.execute(
                select(TivoliLoadBatch.id, TivoliLoadBatch.staging_root).where(
                    TivoliLoadBatch.status.in_([LoadStatus.RUNNING.value, LoadStatus.FAILED.value])
                )
            )
        }
        if not batches:
            return 0
        rows = session.execute(
            select(
                TivoliFileLog.id, TivoliFileLog.bibid, TivoliFileLog.vid, TivoliFileLog.staging_path, TivoliFileLog.size
            ).where(TivoliFileLog.state == FileState.ARCHIVED.value, TivoliFileLog.load_batch_id.in_(list(batches)))
        ).all()
    deleted = _delete_from_staging(staging, [_StagedRow(*row) for row in rows])
    if deleted:
        log.warning("Deleted %d archived files an interrupted load left in staging", deleted)
    return deleted
