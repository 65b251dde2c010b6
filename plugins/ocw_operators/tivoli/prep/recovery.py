"""Recovery of a crashed run: resolve the intents it left by looking at the disk."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable
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
