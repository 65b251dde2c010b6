"""What every step of one preparation run shares: its configuration, its report and the run itself."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from ocw_operators.db.models.tivoli import TivoliFileLog
from ocw_operators.tivoli.filesystem import Checkpoint
from ocw_operators.tivoli.identifiers import VolumeId

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
class HeldVolume:
    """A volume this run could not stage; it stays in the dropbox (and in ``tivoli_held_volume``)."""

    volume: str  # UF12345678_00001
    folder: str  # relative to the dropbox
    reason: str
    error_code: str = ""  # ENOSPC, EPERM, EIO, ...
    files_staged: int = 0  # files that reached staging before the error: logged, never moved again
    first_seen: str = ""  # ISO 8601 UTC, from the archive DB: held since
    attempts: int = 1


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
    dropbox_dirs_removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    held: list[HeldVolume] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # held by an earlier run, staged (or gone) now
    # The first MAX_REPORTED_ITEMS of each, as <volume>/<folder>/<name>; the counts above are complete.
    staged_files: list[str] = field(default_factory=list)
    discarded_files: list[str] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        log.warning("Skipping %s: %s", path, reason)
        self.skipped.append(Skipped(path, reason))

    def hold(self, held: HeldVolume) -> None:
        log.error("Holding %s (%s) in the dropbox: %s", held.volume, held.folder, held.reason)
        self.held.append(held)

    def name_files(self, names: list[str], volume: str, relpaths: Iterable[str]) -> None:
        room = MAX_REPORTED_ITEMS - len(names)
        names.extend(f"{volume}/{relpath}" for relpath in itertools.islice(relpaths, max(room, 0)))

    def as_dict(self) -> dict:
        """A bounded, JSON-serialisable summary (the task's XCom)."""
        data = asdict(self)
        for key in ("volumes_staged", "skipped", "held", "released"):
            data[key] = data[key][:MAX_REPORTED_ITEMS]
            data[f"{key}_count"] = len(getattr(self, key))
        return data


@dataclass(frozen=True)
class PrepRun:
    """What every step of one run shares."""

    engine: Engine
    config: PrepConfig
    dropbox: Path
    staging: Path
    now: dt.datetime
    report: PrepReport
    checkpoint: Checkpoint
    heartbeat: Callable[[], None]
    held_before: dict[VolumeId, str] = field(default_factory=dict)  # open holds at the start: volume -> folder

    @property
    def run_id(self) -> str:
        return self.report.run_id


def last_write_date(mtime_ns: int) -> dt.datetime:
    """Whole seconds in UTC: the resolution every file system and copy tool preserves."""
    return dt.datetime.fromtimestamp(mtime_ns // 1_000_000_000, dt.UTC)
