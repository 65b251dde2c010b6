"""Stop the preparation at every step boundary, rerun it, and demand the result of an uninterrupted run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliFileLog
from ocw_operators.tivoli.prep import PrepConfig, last_write_date, prepare_dropbox
from tests.ocw_operators.tivoli.conftest import (
    LONG_AGO,
    NOW,
    FolderLock,
    held_rows,
    log_rows,
    put,
    reset_tivoli_tables,
    settle,
    tree,
)


class SimulatedCrash(BaseException):
    """A BaseException, like a killed worker: no ``except Exception`` in the code under test can absorb it."""


def _crash_at(step_number: int):
    calls = []

    def checkpoint(step: str) -> None:
        calls.append(step)
        if len(calls) == step_number:
            raise SimulatedCrash(step)

    return checkpoint, calls


def _build_scenario(engine, dropbox: Path, staging: Path, lock: FolderLock | None = None) -> None:
    for root in (dropbox, staging):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
    reset_tivoli_tables(engine)
    with session_scope(engine) as session:  # what an earlier load archived for volume UF12345678_00001
        for name, content in (("00001.tif", b"one"), ("00002.tif", b"two")):
            session.add(
                TivoliFileLog(
                    bibid="UF12345678",
                    vid="00001",
                    folder="",
                    file_name=name,
                    original_name=name,
                    size=len(content),
                    last_write_date=last_write_date(int(LONG_AGO.timestamp() * 1e9)),
                    archive_date=LONG_AGO,
                    sha1="0" * 40,
                    state=FileState.ARCHIVED.value,
                    source_path=f"UF12345678_00001/{name}",
                    staging_path=f"UF/12/34/56/78/00001/{name}",
                    prep_run="earlier",
                )
            )
    volume = dropbox / "UF12345678_00001"
    put(volume / "00001.tif", "one")  # identical: deleted
    put(volume / "00002.tif", "two, changed")  # same name, other size: renamed with the date
    put(volume / "00003.tif", "three")  # new
    put(volume / "sub" / "00004.tif", "four")  # new, in a folder that can move whole
    put(dropbox / "UF22222222" / "00001" / "a.tif", "a")
    put(dropbox / "UF22222222" / "00001" / "b" / "c.tif", "c")
    if lock is not None:  # a folder of the first volume that nothing can leave: the volume is held half-way
        lock.unlock()
        put(lock.path / "y.tif", "y")
    settle(dropbox)
    if lock is not None:
        lock.lock()


def _state(engine, dropbox: Path, staging: Path):
    rows = sorted(
        (r.bibid, r.vid, r.folder, r.file_name, r.original_name, r.size, r.sha1, r.state) for r in log_rows(engine)
    )
    return rows, tree(dropbox), tree(staging)


def _run(engine, config: PrepConfig, run_id: str, checkpoint=None):
    options = {"checkpoint": checkpoint} if checkpoint else {}
    return prepare_dropbox(engine, config, run_id=run_id, clock=lambda: NOW, **options)


@pytest.mark.parametrize("allow_rename", [True, False], ids=["rename", "copy"])
def test_a_crash_at_any_step_then_a_rerun_loses_nothing_and_logs_nothing_twice(archive_engine, tmp_path, allow_rename):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    config = PrepConfig(dropbox=dropbox, staging=staging, allow_rename=allow_rename)
    _build_scenario(archive_engine, dropbox, staging)
    record, steps = _crash_at(0)
    _run(archive_engine, config, "clean", record)
    expected = _state(archive_engine, dropbox, staging)
    assert len(expected[0]) == 2 + 5 and expected[1] == {}, "sanity: the clean run staged five files"
    assert "00002 (2009_10_10).tif" in {row[3] for row in expected[0]}

    for step_number in range(1, len(steps) + 1):
        _build_scenario(archive_engine, dropbox, staging)
        checkpoint, _calls = _crash_at(step_number)
        with pytest.raises(SimulatedCrash):
            _run(archive_engine, config, f"crashing-{step_number}", checkpoint)
        settle(dropbox)  # the rerun comes after the quiet period (the crashed run touched folders)
        report = _run(archive_engine, config, f"rerun-{step_number}")
        where = f"crash at step {step_number} ({steps[step_number - 1]})"
        assert _state(archive_engine, dropbox, staging) == expected, where
        assert not any(name.endswith(".tivoli-partial") for name in tree(staging)), where
        assert report.files_staged + report.intents_recovered <= 5, where
    assert len(steps) >= (9 if allow_rename else 20), steps


def _held(engine) -> list[tuple[str, str, bool]]:
    return [(row.bibid, row.vid, row.released_at is None) for row in held_rows(engine)]


@pytest.mark.parametrize("allow_rename", [True, False], ids=["rename", "copy"])
def test_a_crash_in_a_run_that_holds_a_volume_half_way_loses_nothing_and_logs_nothing_twice(
    archive_engine, tmp_path, monkeypatch, allow_rename
):
    """The volume held half-way has its intents settled like a crash's; a real crash anywhere around that,
    a rerun (still failing) and a run after the fix end exactly where uninterrupted runs do."""
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    config = PrepConfig(dropbox=dropbox, staging=staging, allow_rename=allow_rename)
    lock = FolderLock(dropbox / "UF12345678_00001" / "locked", real=False, monkeypatch=monkeypatch)

    def fix_and_rerun(run_id: str):
        lock.unlock()
        settle(dropbox)
        _run(archive_engine, config, run_id)
        return _state(archive_engine, dropbox, staging), _held(archive_engine)

    _build_scenario(archive_engine, dropbox, staging, lock)
    record, steps = _crash_at(0)
    report = _run(archive_engine, config, "clean", record)
    assert [held.volume for held in report.held] == ["UF12345678_00001"], "sanity: the volume is held"
    assert report.held[0].files_staged > 0 and "held_resolved" in steps, "sanity: held half-way"
    expected_held = _state(archive_engine, dropbox, staging), _held(archive_engine)
    expected_fixed = fix_and_rerun("clean-fixed")
    assert expected_fixed[0][1] == {} and expected_fixed[1] == [("UF12345678", "00001", False)]

    for step_number in range(1, len(steps) + 1):
        _build_scenario(archive_engine, dropbox, staging, lock)
        checkpoint, _calls = _crash_at(step_number)
        with pytest.raises(SimulatedCrash):
            _run(archive_engine, config, f"crashing-{step_number}", checkpoint)
        settle(dropbox)
        _run(archive_engine, config, f"rerun-{step_number}")
        where = f"crash at step {step_number} ({steps[step_number - 1]})"
        assert (_state(archive_engine, dropbox, staging), _held(archive_engine)) == expected_held, where
        assert fix_and_rerun(f"fixed-{step_number}") == expected_fixed, where
        assert not any(name.endswith(".tivoli-partial") for name in tree(staging)), where
