"""The run: recovery, step 1, then each resource folder of the dropbox planned and staged in batches."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from ocw_operators.db.base import utcnow
from ocw_operators.tivoli.filesystem import Checkpoint, Mover, no_checkpoint, remove_empty_dirs
from ocw_operators.tivoli.lease import STAGING_LEASE, held_lease
from ocw_operators.tivoli.prep.context import PrepConfig, PrepConfigError, PrepReport, PrepRun
from ocw_operators.tivoli.prep.intents import mark_staged, write_intents
from ocw_operators.tivoli.prep.moves import move_volume, remove_source
from ocw_operators.tivoli.prep.plan import VolumePlan, discover_volumes, plan_volume
from ocw_operators.tivoli.prep.recovery import recover_intents


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
    run = PrepRun(engine, config, dropbox, staging, clock(), PrepReport(run_id=run_id), checkpoint, heartbeat)
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
    for plan in plans:
        run.heartbeat()
        for scanned in plan.to_discard:  # step d's deletions, now that the archive rows are certain
            os.unlink(os.path.join(plan.source_root, scanned.relpath))
        checkpoint("identical_deleted")
        move_volume(run.staging, plan, mover, run.heartbeat)  # step e
    mover.sync()
    checkpoint("moves_synced")
    mark_staged(run.engine, plans, run.run_id, run.now)  # step f, second half
    checkpoint("staged_marked")
    for plan in plans:
        remove_source(run.dropbox, plan)  # step g
        if plan.to_stage:  # a re-dropped volume whose files were all archived already stages nothing
            report.volumes_staged.append(plan.candidate.volume.flat)
        report.files_staged += len(plan.to_stage)
        report.files_renamed += sum(planned.renamed for planned in plan.to_stage)
        report.files_discarded += len(plan.to_discard)
        report.bytes_staged += sum(planned.scanned.size for planned in plan.to_stage)
    checkpoint("sources_removed")


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
