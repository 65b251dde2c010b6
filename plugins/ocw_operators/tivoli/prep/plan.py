"""Steps 2 and a-d: which dropbox folders are resources, and what to do with each of their files."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from ocw_operators.db.base import as_utc
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import TivoliFileLog
from ocw_operators.tivoli.filesystem import (
    ScannedFile,
    UnsafePathError,
    ensure_inside,
    join,
    scan_tree,
    sha1_many,
)
from ocw_operators.tivoli.identifiers import FolderKind, VolumeId, classify_top_level, parse_volume_folder
from ocw_operators.tivoli.names import UnsafeNameError, unused_dated_name
from ocw_operators.tivoli.prep.context import MAX_FOLDER_CHARS, HeldVolume, PrepReport, PrepRun, last_write_date
from ocw_operators.tivoli.prep.held import VolumeHeldError, holding

log = logging.getLogger(__name__)


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


# --- step 2: which folders are resources --------------------------------------------------------------------


def discover_volumes(
    dropbox: Path, report: PrepReport, *, settled_before: dt.datetime | None = None
) -> list[Candidate]:
    """Top-level resource folders in the dropbox; everything else is reported, never descended into.

    A BibID folder with nothing in it that was last written before ``settled_before`` (the quiet period) is
    removed: step g for a folder whose volumes a crashed run moved without deleting their parent.
    """
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
            found.extend(_volumes_in_bibid_folder(dropbox, entry.name, value, report, settled_before))
        else:
            report.skip(
                entry.name,
                "not a BibID_VID or BibID folder; intermediary folders are not descended into "
                "(place resource folders at the top level of the dropbox)",
            )
    return _without_duplicates(found, report)


def _volumes_in_bibid_folder(
    dropbox: Path, folder: str, bibid: str, report: PrepReport, settled_before: dt.datetime | None
) -> list[Candidate]:
    entries = _sorted_entries(dropbox / folder)
    if not entries and settled_before is not None:
        _remove_settled_empty_folder(dropbox / folder, settled_before, report)
    volumes = []
    for entry in entries:
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


def _remove_settled_empty_folder(path: Path, settled_before: dt.datetime, report: PrepReport) -> None:
    written = dt.datetime.fromtimestamp(os.lstat(path).st_mtime_ns / 1e9, dt.UTC)
    if written > settled_before:
        return  # just created: its volume folders may be on their way
    try:
        path.rmdir()
    except OSError as error:  # something arrived meanwhile, or the folder cannot be changed: the next run sees
        log.warning("Could not remove the empty folder %s from the dropbox: %s", path.name, error)
        return
    report.dropbox_dirs_removed += 1
    log.info("Removed the empty BibID folder %s from the dropbox", path.name)


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


def plan_volume(run: PrepRun, candidate: Candidate) -> VolumePlan | None:
    """Steps a-d for one resource folder; None (and a report entry) when it is skipped, refused or held."""
    source_root = run.dropbox / candidate.relpath
    try:
        with holding(f"could not read {candidate.relpath}", source_root):
            return _plan(run, candidate, source_root)
    except VolumeHeldError as held:
        run.report.hold(HeldVolume(candidate.volume.flat, candidate.relpath, held.reason, held.error_code))
        return None


def _plan(run: PrepRun, candidate: Candidate, source_root: Path) -> VolumePlan | None:
    report, now = run.report, run.now
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
    except (UnsafePathError, UnsafeNameError) as error:
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
