"""A volume that cannot be read or moved is held; every other volume is still staged, and it is retried.

Real failures where the machine allows them (an immutable folder, a full tmpfs staging area), the same errors
raised at the lowest level (``rename``, ``unlink``, the copy's ``write``) where it does not.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliFileLog
from ocw_operators.tivoli.prep import PrepConfig, last_write_date, prepare_dropbox
from tests.ocw_operators.tivoli.conftest import LONG_AGO, NOW, held_rows, log_rows, put, settle, tree

HOUR = dt.timedelta(hours=1)


def _prep(engine, dropbox: Path, staging: Path, now: dt.datetime, run_id: str, **options):
    return prepare_dropbox(
        engine, PrepConfig(dropbox=dropbox, staging=staging, **options), run_id=run_id, clock=lambda: now
    )


def _archived(engine, bibid: str, name: str, content: str) -> None:
    """A file an earlier load archived (so a changed file of that name is renamed with the date)."""
    with session_scope(engine) as session:
        session.add(
            TivoliFileLog(
                bibid=bibid,
                vid="00001",
                folder="",
                file_name=name,
                original_name=name,
                size=len(content),
                last_write_date=last_write_date(int(LONG_AGO.timestamp()) * 1_000_000_000),
                archive_date=LONG_AGO,
                sha1="0" * 40,
                state=FileState.ARCHIVED.value,
                source_path=f"{bibid}_00001/{name}",
                staging_path=f"{bibid[:2]}/{bibid[2:4]}/{bibid[4:6]}/{bibid[6:8]}/{bibid[8:]}/00001/{name}",
                prep_run="earlier",
            )
        )


def _logged(engine) -> list[tuple[str, str, str, str]]:
    return sorted((row.bibid, row.folder, row.file_name, row.state) for row in log_rows(engine))


@pytest.mark.parametrize("allow_rename", [True, False], ids=["rename", "copy"])
def test_a_folder_that_cannot_be_moved_is_held_and_every_other_volume_is_staged(
    archive_engine, boxes, folder_lock, allow_rename
):
    dropbox, staging = boxes
    _archived(archive_engine, "UF11111111", "a.tif", "old")
    put(dropbox / "UF11111111_00001" / "a.tif", "changed")  # renamed with the date: its folder moves file by file
    put(dropbox / "UF11111111_00001" / "locked" / "b.tif", "b")
    put(dropbox / "UF22222222_00001" / "c.tif", "c")  # after the held volume: must still be staged
    lock = folder_lock(dropbox / "UF11111111_00001" / "locked")
    settle(dropbox)
    lock.lock()

    report = _prep(archive_engine, dropbox, staging, NOW, "r1", allow_rename=allow_rename)
    assert report.volumes_staged == ["UF22222222_00001"]
    (held,) = report.held
    assert (held.volume, held.folder, held.error_code, held.attempts) == ("UF11111111_00001",) * 2 + ("EPERM", 1)
    assert "UF11111111_00001/locked" in held.reason and "Operation not permitted" in held.reason
    # Rename: locked/ could not leave. Copy: locked/b.tif reached staging but could not be deleted from the dropbox.
    assert held.files_staged == (1 if allow_rename else 2)
    assert tree(dropbox) == {"UF11111111_00001/locked/b.tif": b"b"}
    staged_b = {} if allow_rename else {"UF/11/11/11/11/00001/locked/b.tif": b"b"}
    assert tree(staging) == {
        "UF/11/11/11/11/00001/a (2009_10_10).tif": b"changed",
        "UF/22/22/22/22/00001/c.tif": b"c",
        **staged_b,
    }
    logged_b = [] if allow_rename else [("UF11111111", "locked", "b.tif", "staged")]
    assert _logged(archive_engine) == sorted(
        [
            ("UF11111111", "", "a.tif", "archived"),
            ("UF11111111", "", "a (2009_10_10).tif", "staged"),
            ("UF22222222", "", "c.tif", "staged"),
            *logged_b,
        ]
    ), "every file that reached staging is logged once; nothing still in the dropbox is logged"
    (row,) = held_rows(archive_engine)
    assert (row.bibid, row.vid, row.folder, row.error_code, row.attempts) == (
        "UF11111111",
        "00001",
        "UF11111111_00001",
        "EPERM",
        1,
    )
    assert (row.reason, row.released_at, row.last_run) == (held.reason, None, "r1")
    assert row.first_seen_at.replace(tzinfo=dt.UTC) == NOW

    lock.settle(dropbox)  # an hour later, still locked: held again, nothing logged twice
    again = _prep(archive_engine, dropbox, staging, NOW + HOUR, "r2", allow_rename=allow_rename)
    assert [(h.volume, h.attempts) for h in again.held] == [("UF11111111_00001", 2)]
    assert again.held[0].first_seen == NOW.isoformat()
    assert _logged(archive_engine) == sorted(
        [
            ("UF11111111", "", "a.tif", "archived"),
            ("UF11111111", "", "a (2009_10_10).tif", "staged"),
            ("UF22222222", "", "c.tif", "staged"),
            *logged_b,
        ]
    )
    (row,) = held_rows(archive_engine)
    assert (row.attempts, row.last_seen_at.replace(tzinfo=dt.UTC), row.released_at) == (2, NOW + HOUR, None)

    lock.unlock()  # fixed by hand: the next run stages the rest and releases the volume
    lock.settle(dropbox)
    done = _prep(archive_engine, dropbox, staging, NOW + 2 * HOUR, "r3", allow_rename=allow_rename)
    assert (done.held, done.released) == ([], ["UF11111111_00001"])
    assert tree(dropbox) == {}
    assert tree(staging)["UF/11/11/11/11/00001/locked/b.tif"] == b"b"
    assert _logged(archive_engine) == sorted(
        [
            ("UF11111111", "", "a.tif", "archived"),
            ("UF11111111", "", "a (2009_10_10).tif", "staged"),
            ("UF11111111", "locked", "b.tif", "staged"),
            ("UF22222222", "", "c.tif", "staged"),
        ]
    )
    (row,) = held_rows(archive_engine)
    assert row.released_at.replace(tzinfo=dt.UTC) == NOW + 2 * HOUR
    assert row.release_note == ("staged by run r3" if allow_rename else "nothing left to stage (run r3)")
    assert row.attempts == 2, "kept as the history of the episode"


# --- a full staging area ----------------------------------------------------------------------------------------


def _why_tmpfs_cannot_mount(probe: Path) -> str | None:
    probe.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        return f"cannot mount a tmpfs ({mounted.stderr.strip() or mounted.returncode}); needs root"
    subprocess.run(["umount", str(probe)], check=True)
    probe.rmdir()
    return None


@contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[None]:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


class _SmallDisk:
    """The copy's lowest-level write refuses with ENOSPC once a file would outgrow the free space."""

    def __init__(self, monkeypatch, free_bytes: int) -> None:
        from ocw_operators.tivoli import filesystem

        self.free_bytes = free_bytes
        real_write_all = filesystem._write_all

        def write_all(fd: int, data: bytes) -> None:
            if os.fstat(fd).st_size + len(data) > self.free_bytes:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_write_all(fd, data)

        monkeypatch.setattr(filesystem, "_write_all", write_all)


@pytest.mark.parametrize("disk", ["tmpfs", "patched"])
def test_a_full_staging_area_holds_the_volume_that_does_not_fit_and_stages_the_rest(
    archive_engine, tmp_path, monkeypatch, disk
):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    dropbox.mkdir()
    staging.mkdir()
    if disk == "tmpfs" and (reason := _why_tmpfs_cannot_mount(tmp_path / "probe")):
        pytest.skip(reason)
    big = os.urandom(2 * 1024 * 1024)
    put(dropbox / "UF11111111_00001" / "00001.tif", "small")
    put(dropbox / "UF11111111_00001" / "00002.tif", big)  # larger than the whole staging area
    put(dropbox / "UF22222222_00001" / "c.tif", "c" * 10_000)
    settle(dropbox)
    small_disk = _SmallDisk(monkeypatch, free_bytes=1024 * 1024) if disk == "patched" else None
    with _tmpfs(staging, "1m") if disk == "tmpfs" else contextlib.nullcontext():
        # A staging area on its own file system: rename fails with EXDEV and every file is copied.
        report = _prep(archive_engine, dropbox, staging, NOW, "r1", allow_rename=disk == "tmpfs")
        (held,) = report.held
        assert (held.volume, held.error_code, held.files_staged) == ("UF11111111_00001", "ENOSPC", 1)
        assert held.reason == (
            "could not move UF11111111_00001/00002.tif into the staging area: No space left on device (ENOSPC)"
        )
        assert report.volumes_staged == ["UF22222222_00001"]
        assert tree(staging) == {
            "UF/11/11/11/11/00001/00001.tif": b"small",
            "UF/22/22/22/22/00001/c.tif": b"c" * 10_000,
        }, "no partial copy is left taking the space"
        assert tree(dropbox) == {"UF11111111_00001/00002.tif": big}
        assert _logged(archive_engine) == [
            ("UF11111111", "", "00001.tif", "staged"),
            ("UF22222222", "", "c.tif", "staged"),
        ]
        assert [(row.bibid, row.error_code, row.released_at) for row in held_rows(archive_engine)] == [
            ("UF11111111", "ENOSPC", None)
        ]

        # The nightly load makes room (here: the disk grows).
        if small_disk is None:
            subprocess.run(["mount", "-o", "remount,size=8m", str(staging)], check=True)
        else:
            small_disk.free_bytes = 64 * 1024 * 1024
        settle(dropbox)
        done = _prep(archive_engine, dropbox, staging, NOW + HOUR, "r2", allow_rename=disk == "tmpfs")
        assert (done.held, done.released, done.files_staged) == ([], ["UF11111111_00001"], 1)
        assert tree(staging)["UF/11/11/11/11/00001/00002.tif"] == big
        assert tree(dropbox) == {}
        assert [row[2] for row in _logged(archive_engine)] == ["00001.tif", "00002.tif", "c.tif"], "each logged once"


# --- an I/O error while reading, and a held folder that goes away ----------------------------------------------------


def test_an_io_error_while_reading_holds_the_volume_untouched(archive_engine, boxes, monkeypatch):
    from ocw_operators.tivoli import filesystem

    dropbox, staging = boxes
    put(dropbox / "UF11111111_00001" / "images" / "00001.tif", "unreadable")
    put(dropbox / "UF22222222_00001" / "c.tif", "c")
    real_sha1_of = filesystem.sha1_of

    def failing_sha1_of(path, expected_size=None):
        if "UF11111111_00001" in str(path):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
        return real_sha1_of(path, expected_size)

    monkeypatch.setattr(filesystem, "sha1_of", failing_sha1_of)
    settle(dropbox)
    report = _prep(archive_engine, dropbox, staging, NOW, "r1")
    (held,) = report.held
    assert (held.volume, held.error_code, held.files_staged) == ("UF11111111_00001", "EIO", 0)
    assert held.reason == "could not read UF11111111_00001: Input/output error (EIO) on images/00001.tif"
    assert report.volumes_staged == ["UF22222222_00001"]
    assert tree(dropbox) == {"UF11111111_00001/images/00001.tif": b"unreadable"}
    assert {row.bibid for row in log_rows(archive_engine)} == {"UF22222222"}

    shutil.rmtree(dropbox / "UF11111111_00001")  # taken away by hand: the hold is released with a note
    report = _prep(archive_engine, dropbox, staging, NOW + HOUR, "r2")
    assert (report.held, report.released) == ([], ["UF11111111_00001"])
    (row,) = held_rows(archive_engine)
    assert (row.release_note, row.released_at.replace(tzinfo=dt.UTC)) == (
        "its folder is no longer in the dropbox",
        NOW + HOUR,
    )


def test_a_held_volume_waiting_out_the_quiet_period_stays_held(archive_engine, boxes, folder_lock):
    dropbox, staging = boxes
    put(dropbox / "UF11111111_00001" / "a.tif", "a")
    lock = folder_lock(dropbox / "UF11111111_00001")
    settle(dropbox)
    lock.lock()
    assert [h.volume for h in _prep(archive_engine, dropbox, staging, NOW, "r1").held] == ["UF11111111_00001"]
    lock.unlock()
    put(dropbox / "UF11111111_00001" / "b.tif", "b", NOW)  # being written to: not tried this run
    report = _prep(archive_engine, dropbox, staging, NOW + dt.timedelta(minutes=1), "r2")
    assert (report.held, report.released) == ([], [])
    assert [(row.attempts, row.released_at) for row in held_rows(archive_engine)] == [(1, None)]
