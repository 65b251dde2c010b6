"""Step f, the Tivoli file log, split around the moves: durable intents first, ``staged`` once the files are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ocw_operators.db.bulk import bulk_insert, sqlite_datetime, sqlite_seconds
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliFileLog, TivoliVolumeStatus, VolumeStatus
from ocw_operators.tivoli.filesystem import join
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.lease import airflow_run_id_of
from ocw_operators.tivoli.prep.context import last_write_date
from ocw_operators.tivoli.prep.held import release_holds
from ocw_operators.tivoli.prep.plan import VolumePlan

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
    "prep_run_id",
)


def write_intents(engine: Engine, plans: list[VolumePlan], now: dt.datetime, run_id: str) -> None:
    """Every planned file's log row, state ``pending``, in one bulk insert and one transaction."""
    sqlite = engine.dialect.name == "sqlite"
    archive_date = sqlite_datetime(now) if sqlite else now
    pending = FileState.PENDING.value
    airflow_run_id = airflow_run_id_of(run_id)
    rows: list[tuple] = []
    for plan in plans:
        volume = plan.candidate.volume
        staging_prefix = str(volume.staging_relpath)  # once per volume: pathlib is slow per row
        for planned in plan.to_stage:
            scanned = planned.scanned
            seconds = scanned.mtime_ns // 1_000_000_000
            written = sqlite_seconds(seconds) if sqlite else last_write_date(scanned.mtime_ns)
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
                    airflow_run_id,
                )
            )
    if rows:
        with session_scope(engine) as session:
            bulk_insert(session, TivoliFileLog.__table__, _INTENT_COLUMNS, rows)


def mark_staged(
    engine: Engine, plans: list[VolumePlan], run_id: str, now: dt.datetime, held_before: Mapping[VolumeId, str]
) -> list[VolumeId]:
    """The run's remaining intents become ``staged``, and the volumes held by an earlier run that this batch
    staged are released, in one transaction. Returns the released volumes."""
    released = [plan for plan in plans if plan.candidate.volume in held_before]
    with session_scope(engine) as session:
        session.execute(
            update(TivoliFileLog)
            .where(TivoliFileLog.prep_run == run_id, TivoliFileLog.state == FileState.PENDING.value)
            .values(state=FileState.STAGED.value)
        )
        counts = {plan.candidate.volume: len(plan.to_stage) for plan in plans if plan.to_stage}
        record_staged_volumes(session, counts, now)
        for staged_some, note in ((True, f"staged by run {run_id}"), (False, f"nothing left to stage (run {run_id})")):
            volumes = [plan.candidate.volume for plan in released if bool(plan.to_stage) is staged_some]
            release_holds(session, volumes, now, note)
    return [plan.candidate.volume for plan in released]


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
