"""The Tivoli Preparation Tool: move finished resources from the dropbox into the Tivoli staging area.

The steps are the seed's, in its order:

1. remove every empty folder from the destination (staging) area;
2. loop over the top-level dropbox folders: a flat ``UF12345678_00001`` folder is processed; a bare BibID
   folder is descended into its ``00001``/``VID00001`` volume folders; anything else is skipped and reported;

   a. skip a resource folder written to within the quiet period (any file or folder inside it);
   b. the destination folder comes from the BibID: ``UF12345678_00001`` -> ``UF/12/34/56/78/00001``;
   c. load the files already archived for the volume from the Tivoli file log;
   d. recurse through the folder: a file archived before with the same folder, name, size and last write
      date is deleted (never archived twice); a file whose name was archived before with another size or
      date is renamed with the current date (``00001.tif`` -> ``00001 (2009_10_29).tif``); new files keep
      their names;
   e. move everything into the staging area, whole directories by rename where possible, else file by file;
   f. save every file's information in the Tivoli file log;
   g. delete the now-empty source folder.

Crash safety: step f is split around step e. Each file's log row is first written as a durable *intent*
(state ``pending``, with its source and staging paths) before anything on disk changes; after the moves are
fsynced the rows become ``staged`` in one statement. A rerun first resolves leftover intents by looking at
the disk: a file found complete in staging is marked staged, a file still in the dropbox has its intent
dropped and is planned again. So a crash at any point loses no file and logs no file twice. Identical files
are deleted only after the intents commit, and only because a staged or archived row already holds them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.orm import Session

from ocw_operators.db.base import as_utc, utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliFileLog, TivoliVolumeStatus, VolumeStatus
from ocw_operators.tivoli.filesystem import (
    Checkpoint,
    Mover,
    ScannedFile,
    UnsafePathError,
    ensure_inside,
    join,
    make_dirs_inside,
    no_checkpoint,
    partial_path,
    remove_empty_dirs,
    scan_tree,
    sha1_many,
)
from ocw_operators.tivoli.identifiers import FolderKind, VolumeId, classify_top_level, parse_volume_folder
from ocw_operators.tivoli.lease import STAGING_LEASE, held_lease
from ocw_operators.tivoli.names import UnsafeNameError, unused_dated_name

log = logging.getLogger(__name__)

DEFAULT_QUIET_PERIOD = dt.timedelta(minutes=5)
# Intents per transaction: large enough for bulk inserts, small enough to bound one batch's rework.
DEFAULT_BULK_FILES = 5000
MAX_REPORTED_ITEMS = 200
MAX_FOLDER_CHARS = TivoliFileLog.__table__.c.folder.type.length  # a longer path would fail the whole batch


class PrepConfigError(ValueError):
    """The dropbox or staging directory is missing, not a directory, or nested in the other."""


@dataclass(frozen=True)
class PrepConfig:
    dropbox: Path
    staging: Path
    quiet_period: dt.timedelta = DEFAULT_QUIET_PERIOD
    bulk_files: int = DEFAULT_BULK_FILES
    allow_rename: bool = True  # False forces copy + fsync + verify + delete (a staging area on another disk)
    hash_workers: int = 4  # threads hashing one volume's files when it holds many large ones


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class PrepReport:
    run_id: str
    volumes_staged: list[str] = field(default_factory=list)
    files_staged: int = 0
    files_renamed: int = 0
    files_discarded: int = 0
    bytes_staged: int = 0
    intents_recovered: int = 0
    intents_dropped: int = 0
    staging_dirs_removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        log.warning("Skipping %s: %s", path, reason)
        self.skipped.append(Skipped(path, reason))

    def as_dict(self) -> dict:
        """A bounded, JSON-serialisable summary (the task's XCom)."""
        data = asdict(self)
        data["volumes_staged"] = self.volumes_staged[:MAX_REPORTED_ITEMS]
        data["skipped"] = data["skipped"][:MAX_REPORTED_ITEMS]
        data["volumes_staged_count"] = len(self.volumes_staged)
        data["skipped_count"] = len(self.skipped)
        return data


@dataclass(frozen=True)
class Candidate:
    """A resource folder found in the dropbox."""

    volume: VolumeId
    relpath: str  # relative to the dropbox: "UF12345678_00001" or "UF12345678/VID00001"
    bibid_folder: str | None = None  # the bare BibID parent, removed when it empties


@dataclass
class PlannedFile:
    scanned: ScannedFile
    file_name: str  # the name it is staged and archived under
    sha1: str = ""

    @property
    def renamed(self) -> bool:
        return self.file_name != self.scanned.name

    @property
    def staged_relpath(self) -> str:
        return join(self.scanned.folder, self.file_name)


@dataclass
class VolumePlan:
    candidate: Candidate
    source_root: Path
    staging_root: Path
    to_stage: list[PlannedFile]
    to_discard: list[ScannedFile]
    directories: list[str]


def last_write_date(mtime_ns: int) -> dt.datetime:
    """Whole seconds in UTC: the resolution every file system and copy tool preserves."""
    return dt.datetime.fromtimestamp(mtime_ns // 1_000_000_000, dt.UTC)


def _ancestors(folder: str) -> list[str]:
    """``"a/b"`` -> ``["", "a", "a/b"]``: the folder and every folder above it, up to the volume root."""
    if not folder:
        return [""]
    parts = folder.split("/")
    return ["", *("/".join(parts[: depth + 1]) for depth in range(len(parts)))]


def _parent(folder: str) -> str:
    return folder.rpartition("/")[0]


# --- the run ----------------------------------------------------------------------------------------------


def prepare_dropbox(
    engine: Engine,
    config: PrepConfig,
    *,
    run_id: str,
    clock: Callable[[], dt.datetime] = utcnow,
    checkpoint: Checkpoint = no_checkpoint,
    heartbeat: Callable[[], None] = lambda: None,
) -> PrepReport:
    """Run the preparation once over the whole dropbox. The caller holds the staging lease."""
    dropbox, staging = _checked_roots(config)
    run = _PrepRun(engine, config, dropbox, staging, clock(), PrepReport(run_id=run_id), checkpoint, heartbeat)
    recover_intents(engine, dropbox, staging, run.report)
    checkpoint("intents_recovered")
    run.report.staging_dirs_removed = remove_empty_dirs(staging)  # step 1
    checkpoint("staging_emptied")
    batch: list[VolumePlan] = []
    for candidate in discover_volumes(dropbox, run.report):  # step 2
        heartbeat()
        plan = plan_volume(run, candidate)
        if plan is None:
            continue
        batch.append(plan)
        if sum(len(p.to_stage) for p in batch) >= config.bulk_files:
            _execute(run, batch)
            batch = []
    if batch:
        _execute(run, batch)
    return run.report


@dataclass(frozen=True)
class _PrepRun:
    """What every step of one run shares."""

    engine: Engine
    config: PrepConfig
    dropbox: Path
    staging: Path
    now: dt.datetime
    report: PrepReport
    checkpoint: Checkpoint
    heartbeat: Callable[[], None]

    @property
    def run_id(self) -> str:
        return self.report.run_id


def _checked_roots(config: PrepConfig) -> tuple[Path, Path]:
    roots = []
    for label, path in (("dropbox", config.dropbox), ("staging", config.staging)):
        if not path.is_absolute():
            raise PrepConfigError(f"the {label} directory must be an absolute path, got {str(path)!r}")
        if not path.is_dir():
            raise PrepConfigError(f"the {label} directory {str(path)!r} does not exist or is not a directory")
        roots.append(path.resolve(strict=True))
    dropbox, staging = roots
    if dropbox == staging or dropbox in staging.parents or staging in dropbox.parents:
        raise PrepConfigError(f"dropbox {dropbox} and staging {staging} must not contain one another")
    return dropbox, staging


# --- step 2: which folders are resources --------------------------------------------------------------------


def discover_volumes(dropbox: Path, report: PrepReport) -> list[Candidate]:
    """Top-level resource folders in the dropbox; everything else is reported, never descended into."""
    found: list[Candidate] = []
    for entry in _sorted_entries(dropbox):
        if entry.is_symlink():
            report.skip(entry.name, "symlink (never followed out of the dropbox)")
            continue
        if not entry.is_dir(follow_symlinks=False):
            report.skip(entry.name, "not a folder; only resource folders are processed")
            continue
        kind, value = classify_top_level(entry.name)
        if kind is FolderKind.FLAT_VOLUME:
            found.append(Candidate(value, entry.name))
        elif kind is FolderKind.BIBID:
            found.extend(_volumes_in_bibid_folder(dropbox, entry.name, value, report))
        else:
            report.skip(
                entry.name,
                "not a BibID_VID or BibID folder; intermediary folders are not descended into "
                "(place resource folders at the top level of the dropbox)",
            )
    return _without_duplicates(found, report)


def _volumes_in_bibid_folder(dropbox: Path, folder: str, bibid: str, report: PrepReport) -> list[Candidate]:
    volumes = []
    for entry in _sorted_entries(dropbox / folder):
        shown = f"{folder}/{entry.name}"
        if entry.is_symlink():
            report.skip(shown, "symlink (never followed out of the dropbox)")
            continue
        vid = parse_volume_folder(entry.name) if entry.is_dir(follow_symlinks=False) else None
        if vid is None:
            report.skip(shown, "not a volume folder (00001 or VID00001) of the BibID folder")
            continue
        volumes.append(Candidate(VolumeId(bibid, vid), f"{folder}/{entry.name}", folder))
    return volumes


def _without_duplicates(candidates: list[Candidate], report: PrepReport) -> list[Candidate]:
    """Two folders for one volume (``UF12345678_00001`` and ``UF12345678/00001``): one per run."""
    seen: dict[VolumeId, Candidate] = {}
    unique = []
    for candidate in candidates:
        first = seen.setdefault(candidate.volume, candidate)
        if first is candidate:
            unique.append(candidate)
        else:
            report.skip(candidate.relpath, f"same volume as {first.relpath}; left for the next run")
    return unique


def _sorted_entries(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as entries:
        return sorted(entries, key=lambda entry: entry.name)


# --- steps a-d: plan one volume -----------------------------------------------------------------------------


def plan_volume(run: _PrepRun, candidate: Candidate) -> VolumePlan | None:
    """Steps a-d for one resource folder; None (and a report entry) when it is skipped or refused."""
    report, now = run.report, run.now
    source_root = run.dropbox / candidate.relpath
    shown = candidate.relpath
    scan = scan_tree(source_root)
    too_deep = next((f.folder for f in scan.files if len(f.folder) > MAX_FOLDER_CHARS), None)
    if too_deep is not None:
        scan.problems.append(f"folder {too_deep[:60]!r}... is longer than the log's {MAX_FOLDER_CHARS} characters")
    if scan.problems:
        more = f" (and {len(scan.problems) - 1} more)" if len(scan.problems) > 1 else ""
        report.skip(shown, f"refused: {scan.problems[0]}{more}")
        return None
    newest = dt.datetime.fromtimestamp(scan.newest_mtime_ns / 1e9, dt.UTC)
    if newest > now - run.config.quiet_period:  # step a
        report.skip(shown, f"written to at {newest:%H:%M:%S} UTC, within the quiet period; left for a later run")
        return None
    staging_root = run.staging / candidate.volume.staging_relpath  # step b
    try:
        ensure_inside(run.staging, staging_root)
        archived = _archived_rows(run.engine, candidate.volume)  # step c
        to_stage, to_discard = _compare_with_archive(scan.files, archived, now.date())  # step d
        _refuse_collisions(staging_root, to_stage)
        base = str(source_root)
        paths = [(f"{base}/{p.scanned.relpath}", p.scanned.size) for p in to_stage]
        sums = sha1_many(paths, run.config.hash_workers)
    except (UnsafePathError, UnsafeNameError, OSError) as error:
        report.skip(shown, f"refused: {error}")
        return None
    for planned, digest in zip(to_stage, sums, strict=True):
        planned.sha1 = digest
    return VolumePlan(candidate, source_root, staging_root, to_stage, to_discard, scan.directories)


def _archived_rows(engine: Engine, volume: VolumeId) -> list[tuple[str, str, str, int, dt.datetime]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                TivoliFileLog.folder,
                TivoliFileLog.file_name,
                TivoliFileLog.original_name,
                TivoliFileLog.size,
                TivoliFileLog.last_write_date,
            ).where(TivoliFileLog.bibid == volume.bibid, TivoliFileLog.vid == volume.vid)
        ).all()
    return [(folder, name, original, size, as_utc(written)) for folder, name, original, size, written in rows]


def _compare_with_archive(
    files: list[ScannedFile], archived: list[tuple[str, str, str, int, dt.datetime]], today: dt.date
) -> tuple[list[PlannedFile], list[ScannedFile]]:
    """Step d: identical files are discarded, same-name files get a dated name, new files keep theirs."""
    versions: dict[tuple[str, str], list[tuple[int, dt.datetime]]] = defaultdict(list)
    taken: dict[str, set[str]] = defaultdict(set)
    for folder, name, original, size, written in archived:
        versions[(folder, name)].append((size, written))
        if original != name:
            versions[(folder, original)].append((size, written))
        taken[folder].add(name)
    for scanned in files:
        taken[scanned.folder].add(scanned.name)  # a dated name must not collide with a file being dropped
    to_stage, to_discard = [], []
    for scanned in files:
        previous = versions.get((scanned.folder, scanned.name))
        if not previous:
            to_stage.append(PlannedFile(scanned, scanned.name))
        elif (scanned.size, last_write_date(scanned.mtime_ns)) in previous:
            to_discard.append(scanned)
        else:
            new_name = unused_dated_name(scanned.name, today, taken[scanned.folder])
            taken[scanned.folder].add(new_name)
            to_stage.append(PlannedFile(scanned, new_name))
    return to_stage, to_discard


def _refuse_collisions(staging_root: Path, to_stage: list[PlannedFile]) -> None:
    """A staged name that already exists on disk is not in the log: never overwrite it, never pass a symlink."""
    if not staging_root.exists():
        return  # a new volume folder: nothing below it can collide
    checked: set[str] = set()
    for planned in to_stage:
        folder = planned.scanned.folder
        if folder not in checked:
            ensure_inside(staging_root, staging_root / folder if folder else staging_root)
            checked.add(folder)
        target = staging_root / planned.staged_relpath
        if os.path.lexists(target):
            raise UnsafePathError(f"staging already holds {target} without a log entry; resolve it by hand")


# --- steps e-g: execute a batch of plans --------------------------------------------------------------------


def _execute(run: _PrepRun, plans: list[VolumePlan]) -> None:
    checkpoint, report = run.checkpoint, run.report
    _write_intents(run.engine, plans, run.now, run.run_id)  # step f, first half: durable intents
    checkpoint("intents_written")
    mover = Mover(allow_rename=run.config.allow_rename, checkpoint=checkpoint, heartbeat=run.heartbeat)
    for plan in plans:
        run.heartbeat()
        for scanned in plan.to_discard:  # step d's deletions, now that the archive rows are certain
            os.unlink(os.path.join(plan.source_root, scanned.relpath))
        checkpoint("identical_deleted")
        _move_volume(run.staging, plan, mover, run.heartbeat)  # step e
    mover.sync()
    checkpoint("moves_synced")
    _mark_staged(run.engine, plans, run.run_id, run.now)  # step f, second half
    checkpoint("staged_marked")
    for plan in plans:
        _remove_source(run.dropbox, plan)  # step g
        if plan.to_stage:  # a re-dropped volume whose files were all archived already stages nothing
            report.volumes_staged.append(plan.candidate.volume.flat)
        report.files_staged += len(plan.to_stage)
        report.files_renamed += sum(planned.renamed for planned in plan.to_stage)
        report.files_discarded += len(plan.to_discard)
        report.bytes_staged += sum(planned.scanned.size for planned in plan.to_stage)
    checkpoint("sources_removed")


_INTENT_COLUMNS = (
    "bibid",
    "vid",
    "folder",
    "file_name",
    "original_name",
    "size",
    "last_write_date",
    "archive_date",
    "sha1",
    "state",
    "source_path",
    "staging_path",
    "prep_run",
)


def _write_intents(engine: Engine, plans: list[VolumePlan], now: dt.datetime, run_id: str) -> None:
    """Every planned file's log row, state ``pending``, in one bulk insert and one transaction."""
    sqlite = engine.dialect.name == "sqlite"
    archive_date = _sqlite_datetime(now) if sqlite else now
    pending = FileState.PENDING.value
    rows: list[tuple] = []
    for plan in plans:
        volume = plan.candidate.volume
        staging_prefix = str(volume.staging_relpath)  # once per volume: pathlib is slow per row
        for planned in plan.to_stage:
            scanned = planned.scanned
            seconds = scanned.mtime_ns // 1_000_000_000
            written = _sqlite_seconds(seconds) if sqlite else last_write_date(scanned.mtime_ns)
            rows.append(
                (
                    volume.bibid,
                    volume.vid,
                    scanned.folder,
                    planned.file_name,
                    scanned.name,
                    scanned.size,
                    written,
                    archive_date,
                    planned.sha1,
                    pending,
                    join(plan.candidate.relpath, scanned.relpath),
                    join(staging_prefix, planned.staged_relpath),
                    run_id,
                )
            )
    if rows:
        with session_scope(engine) as session:
            bulk_insert(session, TivoliFileLog.__table__, _INTENT_COLUMNS, rows)


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """One executemany in the session's transaction.

    On SQLite the rows go straight to the driver, datetimes already in SQLAlchemy's storage format
    (``_sqlite_datetime``): its per-value bind processing would cost more than the insert itself. Other
    databases get Core's executemany, which psycopg2 batches into multi-row INSERTs.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        placeholders = ", ".join("?" * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", rows)
    else:
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def _sqlite_datetime(value: dt.datetime) -> str:
    """SQLAlchemy's text form of a UTC DateTime on SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_seconds(seconds: int) -> str:
    """:func:`_sqlite_datetime` of whole epoch seconds, without building a datetime per file."""
    return "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.000000".format(*time.gmtime(seconds)[:6])


def _move_volume(staging: Path, plan: VolumePlan, mover: Mover, heartbeat: Callable[[], None]) -> None:
    """Whole directories by rename where the destination is new and nothing inside is renamed."""
    by_folder: dict[str, list[PlannedFile]] = defaultdict(list)
    for planned in plan.to_stage:
        by_folder[planned.scanned.folder].append(planned)
    needed: set[str] = set()  # folders with something to stage somewhere below them
    blocked: set[str] = set()  # folders with a renamed file below them: their files move one by one
    for folder, planned_files in by_folder.items():
        needed.update(_ancestors(folder))
        if any(planned.renamed for planned in planned_files):
            blocked.update(_ancestors(folder))
    children: dict[str, list[str]] = defaultdict(list)
    for directory in plan.directories:
        children[_parent(directory)].append(directory)
    if not needed:
        return
    make_dirs_inside(staging, plan.staging_root.parent, mover.touched_dirs)

    def move(folder: str) -> None:
        source = plan.source_root / folder if folder else plan.source_root
        target = plan.staging_root / folder if folder else plan.staging_root
        if folder not in blocked and not _has_unplanned(plan, folder) and mover.move_directory(source, target):
            return
        make_dirs_inside(staging, target, mover.touched_dirs)
        for planned in by_folder.get(folder, []):
            heartbeat()
            mover.move_file(plan.source_root / planned.scanned.relpath, plan.staging_root / planned.staged_relpath)
        for child in children.get(folder, []):
            if child in needed:
                move(child)

    move("")


def _has_unplanned(plan: VolumePlan, folder: str) -> bool:
    """A folder may move whole only if every file left in it is planned (the identical ones are deleted)."""
    prefix = f"{folder}/" if folder else ""
    planned = sum(
        1 for p in plan.to_stage if not folder or p.scanned.folder == folder or p.scanned.folder.startswith(prefix)
    )
    on_disk = sum(len(files) for _, _, files in os.walk(plan.source_root / folder if folder else plan.source_root))
    return on_disk != planned


def _mark_staged(engine: Engine, plans: list[VolumePlan], run_id: str, now: dt.datetime) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(TivoliFileLog)
            .where(TivoliFileLog.prep_run == run_id, TivoliFileLog.state == FileState.PENDING.value)
            .values(state=FileState.STAGED.value)
        )
        counts = {plan.candidate.volume: len(plan.to_stage) for plan in plans if plan.to_stage}
        record_staged_volumes(session, counts, now)


def record_staged_volumes(session: Session, counts: dict[VolumeId, int], now: dt.datetime) -> None:
    """Tracking status: the volume has files staged for Tivoli (an archived volume stays archived)."""
    if not counts:
        return
    bibids = {volume.bibid for volume in counts}
    existing = {
        (status.bibid, status.vid): status
        for status in session.scalars(select(TivoliVolumeStatus).where(TivoliVolumeStatus.bibid.in_(bibids)))
    }
    for volume, count in counts.items():
        status = existing.get((volume.bibid, volume.vid))
        if status is None:
            session.add(
                TivoliVolumeStatus(
                    bibid=volume.bibid,
                    vid=volume.vid,
                    status=VolumeStatus.STAGED.value,
                    files_staged=count,
                    last_staged_at=now,
                )
            )
        else:
            status.files_staged += count
            status.last_staged_at = now


def _remove_source(dropbox: Path, plan: VolumePlan) -> None:
    if plan.source_root.exists():
        remove_empty_dirs(plan.source_root, keep_root=False)
    if plan.source_root.exists():
        log.warning("%s is not empty after the move (new files arrived?); left for the next run", plan.source_root)
    if plan.candidate.bibid_folder is not None:
        with contextlib.suppress(OSError):  # other volume folders remain
            (dropbox / plan.candidate.bibid_folder).rmdir()


# --- recovery of a crashed run --------------------------------------------------------------------------------


def recover_intents(engine: Engine, dropbox: Path, staging: Path, report: PrepReport) -> None:
    """Resolve ``pending`` rows left by a run that stopped between writing intents and marking them staged."""
    with session_scope(engine) as session:
        pending = session.scalars(select(TivoliFileLog).where(TivoliFileLog.state == FileState.PENDING.value)).all()
    if not pending:
        return
    staged: list[TivoliFileLog] = []
    dropped: list[int] = []
    for row in pending:
        if _resolve_intent(row, dropbox, staging):
            staged.append(row)
        else:
            dropped.append(row.id)
    with session_scope(engine) as session:
        if staged:
            session.execute(
                update(TivoliFileLog)
                .where(TivoliFileLog.id.in_([row.id for row in staged]))
                .values(state=FileState.STAGED.value)
            )
            counts: dict[VolumeId, int] = defaultdict(int)
            for row in staged:
                counts[VolumeId(row.bibid, row.vid)] += 1
            record_staged_volumes(session, counts, max(as_utc(row.archive_date) for row in staged))
        for chunk in _chunks(dropped, 500):
            session.execute(delete(TivoliFileLog).where(TivoliFileLog.id.in_(chunk)))
    report.intents_recovered = len(staged)
    report.intents_dropped = len(dropped)
    log.info("Recovered %d staged intents; dropped %d whose files are still in the dropbox", len(staged), len(dropped))


def _resolve_intent(row: TivoliFileLog, dropbox: Path, staging: Path) -> bool:
    """True when the file is complete in staging (the intent happened); False to drop the intent."""
    source = dropbox / row.source_path
    target = staging / row.staging_path
    partial_path(target).unlink(missing_ok=True)  # a copy cut short; the source is still whole
    if target.is_file() and not target.is_symlink() and target.stat().st_size == row.size:
        if source.is_file() and not source.is_symlink():
            info = source.stat()
            if info.st_size == row.size and last_write_date(info.st_mtime_ns) == as_utc(row.last_write_date):
                _unlink_keeping_folder_date(source)  # the copy finished, the source delete did not
        return True
    if not source.exists():
        log.error("Intent for %s: the file is neither in the dropbox nor in staging", row.source_path)
    return False


def _unlink_keeping_folder_date(path: Path) -> None:
    """Finish an interrupted move without making the folder look freshly written (the quiet period)."""
    folder = os.lstat(path.parent)
    path.unlink()
    os.utime(path.parent, ns=(folder.st_atime_ns, folder.st_mtime_ns))


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def prepare_with_lease(
    engine: Engine,
    config: PrepConfig,
    *,
    holder: str,
    lease_ttl: dt.timedelta = dt.timedelta(minutes=10),
    lease_wait: dt.timedelta = dt.timedelta(0),
    clock: Callable[[], dt.datetime] = utcnow,
    checkpoint: Checkpoint = no_checkpoint,
) -> PrepReport:
    """:func:`prepare_dropbox` under the staging lease, so no other worker moves or loads files meanwhile.

    Raises :class:`~ocw_operators.tivoli.lease.LeaseHeldError` when another holder keeps the lease longer
    than ``lease_wait``.
    """
    with held_lease(engine, STAGING_LEASE, holder, ttl=lease_ttl, wait=lease_wait) as heartbeat:
        return prepare_dropbox(engine, config, run_id=holder, clock=clock, checkpoint=checkpoint, heartbeat=heartbeat)
