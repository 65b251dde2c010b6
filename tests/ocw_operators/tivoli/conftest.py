"""Real files in temporary dropbox and staging folders, with a fixed clock."""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import (
    TivoliFileLog,
    TivoliHeldVolume,
    TivoliLease,
    TivoliLoadBatch,
    TivoliVolumeStatus,
)
from ocw_operators.tivoli.prep import PrepConfig, prepare_dropbox

NOW = dt.datetime(2009, 10, 10, 14, 0, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=30)


def put(path: Path, content: bytes | str, mtime: dt.datetime = LONG_AGO) -> Path:
    """Write a file with a chosen last write date (as a scanner or copy tool would leave it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    stamp = mtime.timestamp()
    os.utime(path, (stamp, stamp))
    return path


def settle(root: Path, when: dt.datetime = LONG_AGO) -> None:
    """Age every folder under ``root`` so only what a test touches falls inside the quiet period."""
    stamp = when.timestamp()
    for current, _dirs, _files in os.walk(root, topdown=False):
        if not Path(current).is_symlink():
            os.utime(current, (stamp, stamp))


def tree(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` by relative path (symlinks are not followed)."""
    found = {}
    for current, _dirs, files in os.walk(root):
        for name in files:
            path = Path(current) / name
            if not path.is_symlink():
                found[str(path.relative_to(root))] = path.read_bytes()
    return found


def log_rows(engine) -> list[TivoliFileLog]:
    with session_scope(engine) as session:
        return list(session.scalars(select(TivoliFileLog).order_by(TivoliFileLog.folder, TivoliFileLog.file_name)))


def reset_tivoli_tables(engine) -> None:
    with session_scope(engine) as session:
        for model in (TivoliFileLog, TivoliLoadBatch, TivoliVolumeStatus, TivoliLease, TivoliHeldVolume):
            session.execute(delete(model))


@pytest.fixture
def boxes(tmp_path) -> tuple[Path, Path]:
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    dropbox.mkdir()
    staging.mkdir()
    return dropbox, staging


def run_prep(engine, dropbox: Path, staging: Path, *, now: dt.datetime = NOW, run_id: str = "run", **options):
    settle(dropbox, options.pop("settle_to", LONG_AGO))
    config = PrepConfig(dropbox=dropbox, staging=staging, **options)
    return prepare_dropbox(engine, config, run_id=run_id, clock=lambda: now)


def held_rows(engine) -> list[TivoliHeldVolume]:
    with session_scope(engine) as session:
        return list(session.scalars(select(TivoliHeldVolume).order_by(TivoliHeldVolume.bibid, TivoliHeldVolume.vid)))


def why_chattr_cannot_run(probe: Path) -> str | None:
    """None when ``chattr +i`` works on the file system of ``probe`` (a new folder), else why it cannot."""
    if shutil.which("chattr") is None:
        return "chattr is not installed"
    probe.mkdir(parents=True, exist_ok=True)
    locked = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, text=True, check=False)
    if locked.returncode != 0:
        return f"chattr +i does not work here ({locked.stderr.strip() or locked.returncode}); needs root on ext4/xfs"
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    probe.rmdir()
    return None


class FolderLock:
    """A folder nothing can be moved out of or deleted from, as a real immutable folder (``chattr +i``, root on
    ext4/xfs) or, where that is impossible, with ``rename`` and ``unlink`` refusing it with EPERM the same way."""

    def __init__(self, path: Path, *, real: bool, monkeypatch) -> None:
        self.path = path
        self.real = real
        self.locked = False
        if not real:
            rename, unlink = os.rename, os.unlink

            def refusing_rename(source, destination, *args, **kwargs):
                self._refuse(source)
                return rename(source, destination, *args, **kwargs)

            def refusing_unlink(path, *args, **kwargs):
                self._refuse(path)
                return unlink(path, *args, **kwargs)

            monkeypatch.setattr(os, "rename", refusing_rename)
            monkeypatch.setattr(os, "unlink", refusing_unlink)

    def _refuse(self, path) -> None:
        target = Path(os.fspath(path))
        if self.locked and (target == self.path or self.path in target.parents):
            raise OSError(errno.EPERM, os.strerror(errno.EPERM), str(path))

    def lock(self) -> None:
        if self.real:
            subprocess.run(["chattr", "+i", str(self.path)], check=True)
        self.locked = True

    def unlock(self) -> None:
        if self.real and self.locked:
            subprocess.run(["chattr", "-i", str(self.path)], check=True)
        self.locked = False

    def settle(self, root: Path) -> None:
        """:func:`settle` ``root``; an immutable folder's date cannot change, so it is unlocked meanwhile."""
        was_locked = self.locked
        self.unlock()
        settle(root)
        if was_locked:
            self.lock()


@pytest.fixture(params=["chattr", "patched"])
def folder_lock(request, tmp_path, monkeypatch):
    """Make a ``FolderLock``: real where ``chattr +i`` works, else skipped; the patched form runs everywhere."""
    real = request.param == "chattr"
    if real and (reason := why_chattr_cannot_run(tmp_path / "chattr-probe")):
        pytest.skip(reason)
    locks: list[FolderLock] = []

    def make(path: Path) -> FolderLock:
        locks.append(FolderLock(path, real=real, monkeypatch=monkeypatch))
        return locks[-1]

    yield make
    for lock in locks:  # an immutable folder would outlive the test's temporary directory
        lock.unlock()
