"""Retrieval from Tivoli: list a volume's archived versions from the log and fetch them with ``dsmc``.

As the seed's dissemination tool asks, a request takes either the latest version of each file or every
version archived. Versions keep their archived names (``00002.tif``, ``00002 (2009_10_10).tif``), so
"every version" reproduces exactly what Tivoli holds. Each retrieved file is checked against the SHA-1 in the
log; a file already present with the right checksum is not fetched again, and nothing is ever overwritten.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine, select

from ocw_operators.db.base import as_utc, utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliFileLog, TivoliLoadBatch, TivoliRetrieval
from ocw_operators.tivoli.dsmc import (
    RC_SKIPPED,
    RC_SUCCESS,
    command_prefix,
    parse_retrieve_output,
    read_lines,
    redact,
    retrieve_argv,
    run_dsmc,
)
from ocw_operators.tivoli.filesystem import UnsafePathError, ensure_inside, sha1_of
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.load import Runner

log = logging.getLogger(__name__)

DEFAULT_RETRIEVE_TIMEOUT = dt.timedelta(hours=1)
MAX_REPORTED_FILES = 200


class VersionChoice(StrEnum):
    LATEST = "latest"  # the newest archived version of each file
    ALL = "all"  # every version Tivoli holds


class RetrievalError(RuntimeError):
    """A requested version could not be retrieved intact."""


@dataclass(frozen=True)
class ArchivedVersion:
    folder: str
    file_name: str
    original_name: str
    size: int
    sha1: str
    archive_date: dt.datetime
    archived_path: str  # the path dsmc archived it under
    description: str  # the load batch's archive description

    @property
    def relpath(self) -> PurePosixPath:
        return PurePosixPath(self.folder, self.file_name) if self.folder else PurePosixPath(self.file_name)


def list_versions(
    engine: Engine,
    volume: VolumeId,
    *,
    file_names: Sequence[str] = (),
    choice: VersionChoice = VersionChoice.ALL,
) -> list[ArchivedVersion]:
    """Archived versions of a volume's files, optionally only some files (by original or archived name,
    with or without their folder, e.g. ``00002.tif`` or ``images/00002.tif``)."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(TivoliFileLog, TivoliLoadBatch.staging_root, TivoliLoadBatch.description)
            .join(TivoliLoadBatch, TivoliFileLog.load_batch_id == TivoliLoadBatch.id)
            .where(
                TivoliFileLog.bibid == volume.bibid,
                TivoliFileLog.vid == volume.vid,
                TivoliFileLog.state == FileState.ARCHIVED.value,
            )
            .order_by(TivoliFileLog.folder, TivoliFileLog.original_name, TivoliFileLog.archive_date, TivoliFileLog.id)
        ).all()
    versions = [
        ArchivedVersion(
            folder=row.folder,
            file_name=row.file_name,
            original_name=row.original_name,
            size=row.size,
            sha1=row.sha1,
            archive_date=as_utc(row.archive_date),
            archived_path=str(PurePosixPath(root) / row.staging_path),
            description=description,
        )
        for row, root, description in rows
    ]
    wanted = {name.strip().strip("/") for name in file_names if name and name.strip()}
    if wanted:
        versions = [version for version in versions if _is_wanted(version, wanted)]
    if choice is VersionChoice.LATEST:
        latest: dict[tuple[str, str], ArchivedVersion] = {}
        for version in versions:  # ordered oldest first: the last one per file wins
            latest[(version.folder, version.original_name)] = version
        versions = list(latest.values())
    return versions


def _is_wanted(version: ArchivedVersion, wanted: set[str]) -> bool:
    names = {version.file_name, version.original_name}
    return bool(wanted & (names | {f"{version.folder}/{name}" for name in names if version.folder}))


@dataclass
class RetrieveReport:
    volume: str
    destination: str
    versions: int = 0
    retrieved: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["retrieved_count"] = len(self.retrieved)
        data["retrieved"] = self.retrieved[:MAX_REPORTED_FILES]
        data["already_present"] = self.already_present[:MAX_REPORTED_FILES]
        return data


def retrieve_volume(
    engine: Engine,
    volume: VolumeId,
    destination: Path,
    *,
    dsmc_command: str = "dsmc",
    file_names: Sequence[str] = (),
    choice: VersionChoice = VersionChoice.LATEST,
    timeout: dt.timedelta = DEFAULT_RETRIEVE_TIMEOUT,
    allowed_root: Path | None = None,
    runner: Runner = run_dsmc,
) -> RetrieveReport:
    """Retrieve the chosen versions into ``destination/<BibID>_<VID>/<folder>/<archived name>``."""
    target_root = _checked_destination(destination, allowed_root) / volume.flat
    versions = list_versions(engine, volume, file_names=file_names, choice=choice)
    if not versions:
        raise RetrievalError(f"no archived files of {volume} match {list(file_names) or 'the request'}")
    report = RetrieveReport(volume=volume.flat, destination=str(target_root), versions=len(versions))
    prefix = command_prefix(dsmc_command)
    for version in versions:
        target = target_root / version.relpath
        ensure_inside(target_root.parent, target.parent)
        if target.exists() or target.is_symlink():
            if target.is_file() and not target.is_symlink() and sha1_of(target) == version.sha1:
                report.already_present.append(str(version.relpath))
                continue
            raise RetrievalError(f"{target} already exists with other content; refusing to overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        _retrieve_one(prefix, version, target, timeout, runner)
        report.retrieved.append(str(version.relpath))
    return report


def _checked_destination(destination: Path, allowed_root: Path | None) -> Path:
    if not destination.is_absolute():
        raise RetrievalError(f"the destination must be an absolute path, got {str(destination)!r}")
    if allowed_root is not None:
        root = allowed_root.resolve(strict=True)
        resolved = destination.resolve()
        if resolved != root and root not in resolved.parents:
            raise RetrievalError(f"the destination {destination} is outside the retrieval area {root}")
    destination.mkdir(parents=True, exist_ok=True)
    if destination.is_symlink():
        raise UnsafePathError(f"the destination {destination} is a symlink")
    return destination.resolve(strict=True)


def _retrieve_one(
    prefix: list[str], version: ArchivedVersion, target: Path, timeout: dt.timedelta, runner: Runner
) -> None:
    argv = retrieve_argv(prefix, version.archived_path, str(target), version.description)
    log.info("Retrieving %s", " ".join(redact(argv)))
    with tempfile.TemporaryDirectory(prefix="tivoli-retrieve-") as scratch:
        run = runner(argv, output_path=Path(scratch) / "dsmc.out", timeout_seconds=timeout.total_seconds())
        parsed = parse_retrieve_output(read_lines(run.output_path))
    if run.timed_out or run.return_code not in (RC_SUCCESS, RC_SKIPPED):
        target.unlink(missing_ok=True)
        detail = "; ".join(parsed.messages[:3]) or f"return code {run.return_code}"
        raise RetrievalError(f"dsmc could not retrieve {version.archived_path}: {detail}")
    if not target.is_file() or target.stat().st_size != version.size:
        raise RetrievalError(f"dsmc reported success but {target} is missing or has the wrong size")
    if sha1_of(target) != version.sha1:
        target.unlink()
        raise RetrievalError(f"{target} does not match the SHA-1 in the Tivoli log; removed")


def record_retrievals(engine: Engine, run_id: str, volume: VolumeId, report: RetrieveReport) -> None:
    """Log what the run brought back (and what was already there) in ``tivoli_retrieval``."""
    now = utcnow()
    rows = [
        TivoliRetrieval(
            airflow_run_id=run_id,
            bibid=volume.bibid,
            vid=volume.vid,
            file_path=path,
            outcome=outcome,
            destination=report.destination,
            retrieved_at=now,
        )
        for outcome, paths in (("retrieved", report.retrieved), ("already_present", report.already_present))
        for path in paths
    ]
    with session_scope(engine) as session:
        session.add_all(rows)


def record_retrieval_failure(engine: Engine, run_id: str, volume: VolumeId, destination: str, error: str) -> None:
    with session_scope(engine) as session:
        session.add(
            TivoliRetrieval(
                airflow_run_id=run_id,
                bibid=volume.bibid,
                vid=volume.vid,
                outcome="failed",
                destination=destination,
                error=error[:2000],
                retrieved_at=utcnow(),
            )
        )
