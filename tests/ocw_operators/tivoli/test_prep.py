"""The Tivoli Preparation Tool on real files: every rule of the seed, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliVolumeStatus, VolumeStatus
from ocw_operators.tivoli.prep import PrepConfig, PrepConfigError, prepare_dropbox
from tests.ocw_operators.tivoli.conftest import LONG_AGO, NOW, log_rows, put, run_prep, settle, tree

VOLUME = "UF/12/34/56/78/00001"


def _seed_package(folder: Path, *, tiff2: str = "tiff two", mets: str = "<mets/>", mtime=LONG_AGO, extra=()):
    put(folder / "00001.tif", "tiff one", LONG_AGO)
    put(folder / "00002.tif", tiff2, mtime)
    put(folder / "00003.tif", "tiff three", LONG_AGO)
    put(folder / "UF12345678_00001.mets", mets, mtime)
    for name in extra:
        put(folder / name, f"new {name}", mtime)


def test_the_seeds_worked_example(archive_engine, boxes):
    """Re-dropping the package with a changed 00002.tif and METS file gives exactly the seed's names."""
    dropbox, staging = boxes
    _seed_package(dropbox / "UF12345678_00001")
    first = run_prep(archive_engine, dropbox, staging, now=dt.datetime(2009, 10, 1, 12, tzinfo=dt.UTC), run_id="r1")
    assert (first.files_staged, first.files_renamed, first.files_discarded) == (4, 0, 0)
    assert sorted(tree(staging / VOLUME)) == ["00001.tif", "00002.tif", "00003.tif", "UF12345678_00001.mets"]
    assert list(dropbox.iterdir()) == [], "the emptied source folder is deleted"

    changed = LONG_AGO + dt.timedelta(days=5)
    _seed_package(dropbox / "UF12345678_00001", tiff2="tiff two, rescanned", mets="<mets v='2'/>", mtime=changed)
    second = run_prep(archive_engine, dropbox, staging, run_id="r2")  # found in the dropbox 10/10/2009
    assert (second.files_staged, second.files_renamed, second.files_discarded) == (2, 2, 2)

    rows = log_rows(archive_engine)
    assert sorted(row.file_name for row in rows) == [
        "00001.tif",
        "00002 (2009_10_10).tif",
        "00002.tif",
        "00003.tif",
        "UF12345678_00001 (2009_10_10).mets",
        "UF12345678_00001.mets",
    ]
    renamed = {row.file_name: row.original_name for row in rows if row.file_name != row.original_name}
    assert renamed == {
        "00002 (2009_10_10).tif": "00002.tif",
        "UF12345678_00001 (2009_10_10).mets": "UF12345678_00001.mets",
    }
    assert tree(staging / VOLUME)["00002 (2009_10_10).tif"] == b"tiff two, rescanned"
    assert tree(staging / VOLUME)["00002.tif"] == b"tiff two", "the first version is untouched"
    assert list(dropbox.iterdir()) == []


def test_a_new_file_keeps_its_name_and_an_identical_redrop_is_discarded(archive_engine, boxes):
    dropbox, staging = boxes
    _seed_package(dropbox / "UF12345678_00001")
    run_prep(archive_engine, dropbox, staging, run_id="r1")
    _seed_package(dropbox / "UF12345678_00001", extra=["00004.tif"])
    report = run_prep(archive_engine, dropbox, staging, run_id="r2")
    assert (report.files_staged, report.files_renamed, report.files_discarded) == (1, 0, 4)
    assert "00004.tif" in {row.file_name for row in log_rows(archive_engine)}
    # Dropping the changed package twice: the second time it matches the dated copy and is discarded too.
    changed = LONG_AGO + dt.timedelta(days=1)
    for run_id in ("r3", "r4"):
        _seed_package(dropbox / "UF12345678_00001", tiff2="v2", mtime=changed)
        report = run_prep(archive_engine, dropbox, staging, run_id=run_id)
    assert (report.files_staged, report.files_discarded) == (0, 4)
    assert len(log_rows(archive_engine)) == 7


def test_same_day_second_change_gets_a_distinct_dated_name(archive_engine, boxes):
    dropbox, staging = boxes
    put(dropbox / "UF12345678_00001" / "00001.tif", "v1")
    run_prep(archive_engine, dropbox, staging, run_id="r1")
    for hours, run_id in ((1, "r2"), (2, "r3")):
        put(dropbox / "UF12345678_00001" / "00001.tif", f"v{hours}", LONG_AGO + dt.timedelta(hours=hours))
        run_prep(archive_engine, dropbox, staging, run_id=run_id)
    assert sorted(row.file_name for row in log_rows(archive_engine)) == [
        "00001 (2009_10_10).tif",
        "00001 (2009_10_10_2).tif",
        "00001.tif",
    ]


def test_log_rows_carry_everything_the_seed_lists(archive_engine, boxes):
    dropbox, staging = boxes
    written = dt.datetime(2009, 9, 1, 8, 30, 15, tzinfo=dt.UTC)
    put(dropbox / "UF12345678_00001" / "images" / "00001.tif", b"\x00" * 5000, written)
    run_prep(archive_engine, dropbox, staging)
    (row,) = log_rows(archive_engine)
    assert (row.bibid, row.vid, row.folder, row.file_name, row.original_name) == (
        "UF12345678",
        "00001",
        "images",
        "00001.tif",
        "00001.tif",
    )
    assert row.size == 5000
    assert row.sha1 == hashlib.sha1(b"\x00" * 5000).hexdigest()
    assert row.last_write_date.replace(tzinfo=dt.UTC) == written
    assert row.archive_date.replace(tzinfo=dt.UTC) == NOW
    assert row.state == FileState.STAGED
    assert row.staging_path == f"{VOLUME}/images/00001.tif"
    with session_scope(archive_engine) as session:
        status = session.scalars(select(TivoliVolumeStatus)).one()
    assert (status.bibid, status.vid, status.status, status.files_staged) == (
        "UF12345678",
        "00001",
        VolumeStatus.STAGED,
        1,
    )


def test_bare_bibid_folder_is_descended_into_volume_folders(archive_engine, boxes):
    dropbox, staging = boxes
    put(dropbox / "UF12345678" / "00001" / "a.tif", "a")
    put(dropbox / "UF12345678" / "VID00002" / "b.tif", "b")
    put(dropbox / "UF12345678" / "notes" / "c.txt", "c")
    report = run_prep(archive_engine, dropbox, staging)
    assert report.volumes_staged == ["UF12345678_00001", "UF12345678_00002"]
    assert tree(staging) == {"UF/12/34/56/78/00001/a.tif": b"a", "UF/12/34/56/78/00002/b.tif": b"b"}
    assert [(s.path, "volume folder" in s.reason) for s in report.skipped] == [("UF12345678/notes", True)]
    assert tree(dropbox) == {"UF12345678/notes/c.txt": b"c"}


def test_bibid_folder_is_removed_once_its_volumes_are_gone(archive_engine, boxes):
    dropbox, staging = boxes
    put(dropbox / "UF12345678" / "00001" / "a.tif", "a")
    run_prep(archive_engine, dropbox, staging)
    assert list(dropbox.iterdir()) == []


def test_intermediary_folders_and_loose_files_are_skipped_and_reported(archive_engine, boxes):
    dropbox, staging = boxes
    put(dropbox / "DLOC" / "CA00001234" / "00001" / "x.tif", "x")
    put(dropbox / "UF1234567_00001" / "y.tif", "y")
    put(dropbox / "stray.txt", "z")
    report = run_prep(archive_engine, dropbox, staging)
    reasons = {skip.path: skip.reason for skip in report.skipped}
    assert set(reasons) == {"DLOC", "UF1234567_00001", "stray.txt"}
    assert "intermediary" in reasons["DLOC"]
    assert tree(staging) == {}
    assert len(tree(dropbox)) == 3, "nothing skipped is touched"
    assert log_rows(archive_engine) == []


def test_quiet_period_skips_recently_written_folders(archive_engine, boxes):
    dropbox, staging = boxes
    put(dropbox / "UF12345678_00001" / "done.tif", "done")
    put(dropbox / "UF12345678_00002" / "sub" / "writing.tif", "partial", NOW - dt.timedelta(minutes=2))
    put(dropbox / "UF12345678_00003" / "old.tif", "old")
    fresh = dropbox / "UF12345678_00003" / "deep" / "new-empty-folder"
    fresh.mkdir(parents=True)
    settle(dropbox)
    os.utime(fresh, (NOW.timestamp() - 60, NOW.timestamp() - 60))  # only the nested empty folder is recent
    config = PrepConfig(dropbox=dropbox, staging=staging)
    report = prepare_dropbox(archive_engine, config, run_id="r1", clock=lambda: NOW)
    assert report.volumes_staged == ["UF12345678_00001"]
    assert {s.path for s in report.skipped if "quiet period" in s.reason} == {"UF12345678_00002", "UF12345678_00003"}
    # Configurable: with a one-minute quiet period both are old enough.
    config = PrepConfig(dropbox=dropbox, staging=staging, quiet_period=dt.timedelta(seconds=59))
    report = prepare_dropbox(archive_engine, config, run_id="r2", clock=lambda: NOW)
    assert report.volumes_staged == ["UF12345678_00002", "UF12345678_00003"]


def test_symlinks_are_never_followed(archive_engine, boxes, tmp_path):
    dropbox, staging = boxes
    outside = tmp_path / "outside"
    put(outside / "secret.txt", "secret")
    (dropbox / "UF11111111_00001").symlink_to(outside, target_is_directory=True)
    put(dropbox / "UF22222222_00001" / "ok.tif", "ok")
    (dropbox / "UF22222222_00001" / "link.tif").symlink_to(outside / "secret.txt")
    put(dropbox / "UF33333333" / "00001" / "ok.tif", "ok")
    (dropbox / "UF33333333" / "00002").symlink_to(outside, target_is_directory=True)
    report = run_prep(archive_engine, dropbox, staging)
    reasons = {skip.path: skip.reason for skip in report.skipped}
    assert "symlink" in reasons["UF11111111_00001"]
    assert "symlink" in reasons["UF22222222_00001"] and "refused" in reasons["UF22222222_00001"]
    assert "symlink" in reasons["UF33333333/00002"]
    assert report.volumes_staged == ["UF33333333_00001"]
    assert tree(outside) == {"secret.txt": b"secret"}
    assert (dropbox / "UF22222222_00001" / "ok.tif").read_text() == "ok", "a refused volume is left whole"
    assert {row.bibid for row in log_rows(archive_engine)} == {"UF33333333"}


def test_a_symlink_inside_staging_is_not_moved_through(archive_engine, boxes, tmp_path):
    dropbox, staging = boxes
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (staging / "UF").symlink_to(elsewhere, target_is_directory=True)
    put(dropbox / "UF12345678_00001" / "a.tif", "a")
    report = run_prep(archive_engine, dropbox, staging)
    assert report.volumes_staged == []
    assert "symlink" in report.skipped[0].reason
    assert list(elsewhere.iterdir()) == []
    assert tree(dropbox) == {"UF12345678_00001/a.tif": b"a"}


@pytest.mark.parametrize(
    "hostile", ["evil\nNormal File-->  1 /etc/passwd [Sent]", "..\\..\\escape.tif", "bell\x07.tif"]
)
def test_hostile_names_refuse_the_volume_and_lose_nothing(archive_engine, boxes, hostile):
    dropbox, staging = boxes
    put(dropbox / "UF12345678_00001" / "fine.tif", "fine")
    put(dropbox / "UF12345678_00001" / hostile, "hostile")
    report = run_prep(archive_engine, dropbox, staging)
    assert report.volumes_staged == []
    assert "unsafe name" in report.skipped[0].reason
    assert len(tree(dropbox)) == 2
    assert tree(staging) == {}


def test_a_file_already_in_staging_without_a_log_row_is_never_overwritten(archive_engine, boxes):
    dropbox, staging = boxes
    put(staging / VOLUME / "a.tif", "someone else's")
    put(dropbox / "UF12345678_00001" / "a.tif", "ours")
    report = run_prep(archive_engine, dropbox, staging)
    assert "without a log entry" in report.skipped[0].reason
    assert (staging / VOLUME / "a.tif").read_text() == "someone else's"
    assert (dropbox / "UF12345678_00001" / "a.tif").read_text() == "ours"


def test_whole_directories_move_by_rename(archive_engine, boxes):
    dropbox, staging = boxes
    source = put(dropbox / "UF12345678_00001" / "sub" / "deeper" / "a.tif", "a")
    inode = source.stat().st_ino
    put(dropbox / "UF12345678_00001" / "b.tif", "b")
    run_prep(archive_engine, dropbox, staging)
    assert (staging / VOLUME / "sub" / "deeper" / "a.tif").stat().st_ino == inode
    assert sorted(row.folder for row in log_rows(archive_engine)) == ["", "sub/deeper"]


def test_copy_mode_fsyncs_verifies_and_keeps_the_last_write_date(archive_engine, boxes):
    """Staging on another disk: copy, fsync, verify the size, keep the date, then delete the source."""
    dropbox, staging = boxes
    written = dt.datetime(2009, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    payload = os.urandom(3 * 1024 * 1024 + 17)
    put(dropbox / "UF12345678_00001" / "big.tif", payload, written)
    put(dropbox / "UF12345678_00001" / "sub" / "small.txt", "small", written)
    run_prep(archive_engine, dropbox, staging, allow_rename=False)
    staged = staging / VOLUME / "big.tif"
    assert staged.read_bytes() == payload
    assert staged.stat().st_mtime == written.timestamp()
    assert list(dropbox.iterdir()) == []
    assert not any(name.endswith(".tivoli-partial") for name in tree(staging))
    assert {row.sha1 for row in log_rows(archive_engine)} == {
        hashlib.sha1(payload).hexdigest(),
        hashlib.sha1(b"small").hexdigest(),
    }


def test_second_folder_for_the_same_volume_waits_for_the_next_run(archive_engine, boxes):
    dropbox, staging = boxes
    put(dropbox / "UF12345678_00001" / "a.tif", "a")
    put(dropbox / "UF12345678" / "00001" / "a.tif", "a")
    put(dropbox / "UF12345678" / "00001" / "b.tif", "b")
    report = run_prep(archive_engine, dropbox, staging, run_id="r1")
    assert (report.volumes_staged, report.files_staged) == (["UF12345678_00001"], 2)
    assert (report.skipped[0].path, "next run" in report.skipped[0].reason) == ("UF12345678_00001", True)
    report = run_prep(archive_engine, dropbox, staging, run_id="r2")
    assert (report.files_staged, report.files_discarded) == (0, 1)
    assert list(dropbox.iterdir()) == []
    assert sorted(row.file_name for row in log_rows(archive_engine)) == ["a.tif", "b.tif"]


def test_empty_folders_are_removed_from_staging_first(archive_engine, boxes):
    dropbox, staging = boxes
    (staging / "UF" / "99" / "empty").mkdir(parents=True)
    put(staging / "UF" / "88" / "kept.tif", "kept")
    report = run_prep(archive_engine, dropbox, staging)
    assert report.staging_dirs_removed == 2  # UF/99/empty and UF/99; UF still holds 88
    assert tree(staging) == {"UF/88/kept.tif": b"kept"}
    assert staging.is_dir()


def test_bad_configuration_is_refused(archive_engine, boxes, tmp_path):
    dropbox, staging = boxes
    for config in (
        PrepConfig(dropbox=tmp_path / "missing", staging=staging),
        PrepConfig(dropbox=dropbox, staging=dropbox / "inside"),
        PrepConfig(dropbox=Path("relative"), staging=staging),
    ):
        (dropbox / "inside").mkdir(exist_ok=True)
        with pytest.raises(PrepConfigError):
            prepare_dropbox(archive_engine, config, run_id="r", clock=lambda: NOW)


def test_staging_on_another_file_system_falls_back_to_copying(archive_engine, boxes, monkeypatch):
    """``rename`` across file systems fails with EXDEV: whole folders and files are then copied."""
    import errno

    dropbox, staging = boxes
    real_rename = os.rename

    def cross_device_rename(source, destination):
        if str(source).startswith(str(dropbox)) and str(destination).startswith(str(staging)):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(source, destination)

    monkeypatch.setattr("ocw_operators.tivoli.filesystem.os.rename", cross_device_rename)
    written = dt.datetime(2009, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    put(dropbox / "UF12345678_00001" / "sub" / "00001.tif", "one", written)
    run_prep(archive_engine, dropbox, staging)
    copied = staging / VOLUME / "sub" / "00001.tif"
    assert copied.read_text() == "one" and copied.stat().st_mtime == written.timestamp()
    assert list(dropbox.iterdir()) == []
    assert [row.state for row in log_rows(archive_engine)] == [FileState.STAGED]


def test_a_folder_path_longer_than_the_log_allows_is_refused_not_half_logged(archive_engine, boxes):
    dropbox, staging = boxes
    deep = Path(*(["d" * 60] * 5))  # 304 characters of folder path
    put(dropbox / "UF12345678_00001" / deep / "00001.tif", "deep")
    put(dropbox / "UF12345678_00002" / "00001.tif", "fine")
    report = run_prep(archive_engine, dropbox, staging)
    assert report.volumes_staged == ["UF12345678_00002"]
    assert "longer than the log" in report.skipped[0].reason
    assert (dropbox / "UF12345678_00001" / deep / "00001.tif").read_text() == "deep"
