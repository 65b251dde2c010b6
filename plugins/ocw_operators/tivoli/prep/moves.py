"""Steps e and g: move a volume into the staging area, then delete its emptied source folder."""

from __future__ import annotations

import contextlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ocw_operators.tivoli.filesystem import Mover, join, make_dirs_inside, remove_empty_dirs
from ocw_operators.tivoli.prep.held import holding
from ocw_operators.tivoli.prep.plan import PlannedFile, VolumePlan

log = logging.getLogger(__name__)


def _ancestors(folder: str) -> list[str]:
    """``"a/b"`` -> ``["", "a", "a/b"]``: the folder and every folder above it, up to the volume root."""
    if not folder:
        return [""]
    parts = folder.split("/")
    return ["", *("/".join(parts[: depth + 1]) for depth in range(len(parts)))]


def _parent(folder: str) -> str:
    return folder.rpartition("/")[0]


def move_volume(staging: Path, plan: VolumePlan, mover: Mover, heartbeat: Callable[[], None]) -> None:
    """Whole directories by rename where the destination is new and nothing inside is renamed.

    Raises :class:`~ocw_operators.tivoli.prep.held.VolumeHeldError` naming the folder or file that could not be
    moved; what moved before it stays in staging, the rest in the dropbox.
    """
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
    shown = plan.candidate.relpath
    with holding(f"could not create the staging folder of {shown}", staging):
        make_dirs_inside(staging, plan.staging_root.parent, mover.touched_dirs)

    def move(folder: str) -> None:
        source = plan.source_root / folder if folder else plan.source_root
        target = plan.staging_root / folder if folder else plan.staging_root
        with holding(f"could not move {join(shown, folder) if folder else shown} into the staging area", staging):
            if folder not in blocked and not _has_unplanned(plan, folder) and mover.move_directory(source, target):
                return
            make_dirs_inside(staging, target, mover.touched_dirs)
        for planned in by_folder.get(folder, []):
            heartbeat()
            with holding(f"could not move {join(shown, planned.scanned.relpath)} into the staging area", staging):
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


def remove_source(dropbox: Path, plan: VolumePlan) -> int:
    """Step g: the emptied source folder (and its BibID folder once that is empty); returns folders removed."""
    removed = 0
    if plan.source_root.exists():
        removed += remove_empty_dirs(plan.source_root, keep_root=False)
    if plan.source_root.exists():
        log.warning("%s is not empty after the move (new files arrived?); left for the next run", plan.source_root)
    if plan.candidate.bibid_folder is not None:
        with contextlib.suppress(OSError):  # other volume folders remain
            (dropbox / plan.candidate.bibid_folder).rmdir()
            removed += 1
    return removed
