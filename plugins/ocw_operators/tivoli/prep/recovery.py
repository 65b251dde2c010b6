"""Recovery of a crashed run: resolve the intents it left by looking at the disk."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Engine, delete, select, update

from ocw_operators.db.base import as_utc
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliFileLog
from ocw_operators.tivoli.filesystem import partial_path
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.prep.context import PrepReport, last_write_date
from ocw_operators.tivoli.prep.intents import record_staged_volumes

log = logging.getLogger(__name__)


def recover_intents(engine: Engine, dropbox: Path, staging: Path, report: PrepReport) -> None:
    """Resolve ``pending`` rows left by a run that stopped between writing intents and marking them staged."""
    with session_scope(engine) as session:
        pending = session.scalars(select(TivoliFileLog).where(TivoliFileLog.state == FileState.PENDING.value)).all()
    if not pending:
        return
    staged, dropped = resolve_intents(engine, pending, dropbox, staging)
    report.intents_recovered = staged
    report.intents_dropped = dropped
    log.info("Recovered %d staged intents; dropped %d whose files are still in the dropbox", staged, dropped)


def resolve_held_volume(engine: Engine, dropbox: Path, staging: Path, run_id: str, volume: VolumeId) -> int:
    """Settle this run's intents for a volume whose moves stopped half-way, exactly as a rerun after a crash
    would: files complete in staging become staged, the others' intents are dropped. Returns the staged count."""
    with session_scope(engine) as session:
        pending = session.scalars(
            select(TivoliFileLog).where(
                TivoliFileLog.prep_run == run_id,
                TivoliFileLog.state == FileState.PENDING.value,
                TivoliFileLog.bibid == volume.bibid,
                TivoliFileLog.vid == volume.vid,
            )
        ).all()
    staged, _dropped = resolve_intents(engine, pending, dropbox, staging)
    return staged


def resolve_intents(engine: Engine, pending: Sequence[TivoliFileLog], dropbox: Path, staging: Path) -> tuple[int, int]:
    """Mark the intents whose files are complete in staging ``staged`` and drop the rest; ``(staged, dropped)``."""
    staged: list[TivoliFileLog] = []
    dropped: list[int] = []
    for row in pending:
        if _resolve_intent(row, dropbox, staging):
            staged.append(row)
        else:
            dropped.append(row.id)
    with session_scope(engine) as session:
        if staged:
            for chunk in _chunks([row.id for row in staged], 500):
                session.execute(
                    update(TivoliFileLog).where(TivoliFileLog.id.in_(chunk)).values(state=FileState.STAGED.value)
                )
            counts: dict[VolumeId, int] = defaultdict(int)
            for row in staged:
                counts[VolumeId(row.bibid, row.vid)] += 1
            record_staged_volumes(session, counts, max(as_utc(row.archive_date) for row in staged))
        for chunk in _chunks(dropped, 500):
            session.execute(delete(TivoliFileLog).where(TivoliFileLog.id.in_(chunk)))
    return len(staged), len(dropped)


def _resolve_intent(row: TivoliFileLog, dropbox: Path, staging: Path) -> bool:
    """True when the file is complete in staging (the intent happened); False to drop the intent."""
    source = dropbox / row.source_path
    target = staging / row.staging_path
    partial_path(target).unlink(missing_ok=True)  # a copy cut short; the source is still whole
    if target.is_file() and not target.is_symlink() and target.stat().st_size == row.size:
        if source.is_file() and not source.is_symlink():
            info = source.stat()
            if info.st_size == row.size and last_write_date(info.st_mtime_ns) == as_utc(row.last_write_date):
                _finish_move(source)
        return True
    if not source.exists():
        log.error("Intent for %s: the file is neither in the dropbox nor in staging", row.source_path)
    return False


def _finish_move(source: Path) -> None:
    """The copy finished, the source delete did not: delete it now. A source that cannot be deleted (a folder
    that cannot be changed) stays; the next run finds it identical to the staged row and discards it."""
    try:
        _unlink_keeping_folder_date(source)
    except OSError as error:
        log.warning("%s is staged but could not be deleted from the dropbox (%s); left for the next run", source, error)


def _unlink_keeping_folder_date(path: Path) -> None:
    """Finish an interrupted move without making the folder look freshly written (the quiet period)."""
    folder = os.lstat(path.parent)
    path.unlink()
    os.utime(path.parent, ns=(folder.st_atime_ns, folder.st_mtime_ns))


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
