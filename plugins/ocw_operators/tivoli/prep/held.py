"""Volumes held back: one resource folder that cannot be staged never stops the others.

A folder that raises an OS error while it is read or staged (a folder that cannot be moved: EPERM, EACCES; a
full staging area: ENOSPC; a failing disk: EIO) is *held*. The files that already reached the staging area stay
there, logged once as staged; the rest stay in the dropbox with no log row; the volume is recorded in
``tivoli_held_volume`` with the reason, and the run goes on with the next volume. Every run tries a held volume
again. The run that stages it (or finds nothing left to stage) releases it; so does a run that no longer finds
its folder in the dropbox. Released rows are kept with ``released_at`` and a note as the last episode's history.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ocw_operators.db.base import as_utc
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import TivoliHeldVolume
from ocw_operators.tivoli.filesystem import UnsafePathError
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.names import UnsafeNameError
from ocw_operators.tivoli.prep.context import HeldVolume

ERROR_CODE_CHARS = TivoliHeldVolume.__table__.c.error_code.type.length


class VolumeHeldError(Exception):
    """One volume could not be read or staged; the run holds it and goes on with the others."""

    def __init__(self, action: str, error: BaseException, root: Path | None = None) -> None:
        detail, self.error_code = describe_error(error, root)
        self.reason = f"{action}: {detail}"
        super().__init__(self.reason)


def describe_error(error: BaseException, root: Path | None = None) -> tuple[str, str]:
    """``("No space left on device (ENOSPC)", "ENOSPC")``: the system's words and the errno name, and the file
    the error names when it lies below ``root`` (shown relative to it)."""
    if not (isinstance(error, OSError) and error.errno):
        return str(error), ""
    code = errno.errorcode.get(error.errno, str(error.errno))[:ERROR_CODE_CHARS]
    detail = f"{error.strerror or os.strerror(error.errno)} ({code})"
    if root is not None and isinstance(error.filename, str | Path):
        path = Path(error.filename)
        if path != root and root in path.parents:
            detail += f" on {path.relative_to(root).as_posix()}"
    return detail, code


@contextmanager
def holding(action: str, root: Path | None = None) -> Iterator[None]:
    """Turn an error of the file system (or an unsafe path met while moving) into :class:`VolumeHeldError`."""
    try:
        yield
    except (OSError, UnsafePathError, UnsafeNameError) as error:
        raise VolumeHeldError(action, error, root) from error


def open_holds(engine: Engine) -> dict[VolumeId, str]:
    """Volumes held now (not released): volume -> its folder in the dropbox."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(TivoliHeldVolume.bibid, TivoliHeldVolume.vid, TivoliHeldVolume.folder).where(
                TivoliHeldVolume.released_at.is_(None)
            )
        ).all()
    return {VolumeId(bibid, vid): folder for bibid, vid, folder in rows}


def record_holds(engine: Engine, held: list[HeldVolume], now: dt.datetime, run_id: str) -> None:
    """Open or renew each volume's hold; fills in the report's ``first_seen`` and ``attempts``."""
    if not held:
        return
    with session_scope(engine) as session:
        for entry in held:
            volume = VolumeId.parse(entry.volume)
            row = session.get(TivoliHeldVolume, (volume.bibid, volume.vid))
            if row is None:
                row = TivoliHeldVolume(bibid=volume.bibid, vid=volume.vid, attempts=0, first_seen_at=now)
                session.add(row)
            elif row.released_at is not None:  # held again after a release: a new episode
                row.attempts, row.first_seen_at, row.released_at, row.release_note = 0, now, None, ""
            row.folder, row.reason, row.error_code = entry.folder, entry.reason, entry.error_code
            row.attempts += 1
            row.last_seen_at, row.last_run = now, run_id
            entry.first_seen = as_utc(row.first_seen_at).isoformat()
            entry.attempts = row.attempts


def release_holds(session: Session, volumes: Iterable[VolumeId], now: dt.datetime, note: str) -> None:
    """Release the given volumes' open holds, in the caller's transaction."""
    for volume in volumes:
        row = session.get(TivoliHeldVolume, (volume.bibid, volume.vid))
        if row is not None and row.released_at is None:
            row.released_at, row.release_note = now, note
