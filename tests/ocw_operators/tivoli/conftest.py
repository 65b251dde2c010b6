"""Real files in temporary dropbox and staging folders, with a fixed clock."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import TivoliFileLog, TivoliLease, TivoliLoadBatch, TivoliVolumeStatus
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
        for model in (TivoliFileLog, TivoliLoadBatch, TivoliVolumeStatus, TivoliLease):
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
