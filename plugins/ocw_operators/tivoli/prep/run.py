"""The run: recovery, step 1, then each resource folder of the dropbox planned and staged in batches."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from ocw_operators.db.base import utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.tivoli.filesystem import Checkpoint, Mover, join, no_checkpoint, remove_empty_dirs
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.lease import STAGING_LEASE, held_lease
from ocw_operators.tivoli.prep.context import HeldVolume, PrepConfig, PrepConfigError, PrepReport, PrepRun
from ocw_operators.tivoli.prep.held import VolumeHeldError, holding, open_holds, record_holds, release_holds
from ocw_operators.tivoli.prep.intents import mark_staged, write_intents
from ocw_operators.tivoli.prep.moves import move_volume, remove_source
from ocw_operators.tivoli.prep.plan import VolumePlan, discover_volumes, plan_volume
from ocw_operators.tivoli.prep.recovery import recover_intents, resolve_held_volume


def prepare_dropbox(
    engine: Engine,
    config: PrepConfig,
    *,
    run_id: str,
    clock: Callable[[], dt.datetime] = utcnow,
    checkpoint: Checkpoint = no_checkpoint,
    heartbeat: Callable[[], None] = lambda: None,
) -> PrepReport:
    """Run the preparation once over the whole dropbox. The caller holds the staging lease.

    A volume that cannot be read or staged is held (see :mod:`.held`) and the run goes on; the report lists
    the held volumes, and the caller decides how to tell the operator once every other volume is staged.
    """
    dropbox, staging = _checked_roots(config)
    report = PrepReport(run_id=run_id)
    recover_intents(engine, dropbox, staging, report)
    checkpoint("intents_recovered")
    run = PrepRun(engine, config, dropbox, staging, clock(), report, checkpoint, heartbeat, open_holds(engine))
    report.staging_dirs_removed = remove_empty_dirs(staging)  # step 1
    checkpoint("staging_emptied")
    candidates = discover_volumes(dropbox, report, settled_before=run.now - config.quiet_period)  # step 2
    batch: list[VolumePlan] = []
    for candidate in candidates:
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
    _record_holds(run, {candidate.volume for candidate in candidates})
    return report


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


def _execute(run: PrepRun, plans: list[VolumePlan]) -> None:
    checkpoint, report = run.checkpoint, run.report
    write_intents(run.engine, plans, run.now, run.run_id)  # step f, first half: durable intents
    checkpoint("intents_written")
    mover = Mover(allow_rename=run.config.allow_rename, checkpoint=checkpoint, heartbeat=run.heartbeat)
    staged: list[VolumePlan] = []
    held: list[tuple[VolumePlan, VolumeHeldError]] = []
    for plan in plans:
        run.heartbeat()
        try:
            _stage_volume(run, plan, mover)
        except VolumeHeldError as error:
            held.append((plan, error))
        else:
            staged.append(plan)
    mover.sync()
    checkpoint("moves_synced")
    for plan, error in held:  # before the bulk update below, which marks every pending row of the run
        volume = plan.candidate.volume
        files = resolve_held_volume(run.engine, run.dropbox, run.staging, run.run_id, volume)
        report.hold(HeldVolume(volume.flat, plan.candidate.relpath, error.reason, error.error_code, files))
        checkpoint("held_resolved")
    released = mark_staged(run.engine, staged, run.run_id, run.now, run.held_before)  # step f, second half
    report.released.extend(volume.flat for volume in released)
    checkpoint("staged_marked")
    for plan in staged:
        report.dropbox_dirs_removed += remove_source(run.dropbox, plan)  # step g
        _count(report, plan)
    checkpoint("sources_removed")


def _stage_volume(run: PrepRun, plan: VolumePlan, mover: Mover) -> None:
    """Step d's deletions (now that the intents are durable), then step e."""
    for scanned in plan.to_discard:  # the archive rows holding these files are certain now
        shown = join(plan.candidate.relpath, scanned.relpath)
        with holding(f"could not delete {shown}, a file already archived", run.dropbox):
            os.unlink(os.path.join(plan.source_root, scanned.relpath))
    run.checkpoint("identical_deleted")
    move_volume(run.staging, plan, mover, run.heartbeat)


def _count(report: PrepReport, plan: VolumePlan) -> None:
    volume = plan.candidate.volume.flat
    if plan.to_stage:  # a re-dropped volume whose files were all archived already stages nothing
        report.volumes_staged.append(volume)
    report.files_staged += len(plan.to_stage)
    report.files_renamed += sum(planned.renamed for planned in plan.to_stage)
    report.files_discarded += len(plan.to_discard)
    report.bytes_staged += sum(planned.scanned.size for planned in plan.to_stage)
    report.name_files(report.staged_files, volume, (planned.staged_relpath for planned in plan.to_stage))
    report.name_files(report.discarded_files, volume, (scanned.relpath for scanned in plan.to_discard))


def _record_holds(run: PrepRun, discovered: set[VolumeId]) -> None:
    """Store this run's held volumes; release holds whose folder is no longer in the dropbox."""
    record_holds(run.engine, run.report.held, run.now, run.run_id)
    gone = [volume for volume in run.held_before if volume not in discovered]
    if gone:
        with session_scope(run.engine) as session:
            release_holds(session, gone, run.now, "its folder is no longer in the dropbox")
        run.report.released.extend(volume.flat for volume in gone)


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
