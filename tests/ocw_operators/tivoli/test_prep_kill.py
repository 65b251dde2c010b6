"""A preparation killed with SIGKILL mid-run, then run again: no empty folder stays in the dropbox, no file is
lost, and every file is either staged and logged once or still in the dropbox unlogged."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, TivoliFileLog
from ocw_operators.tivoli.prep import PrepConfig, last_write_date, prepare_dropbox
from tests.ocw_operators.tivoli.conftest import LONG_AGO, NOW, log_rows, put, settle, tree

# The preparation in a child process that kills itself with SIGKILL at the chosen occurrence of a step.
_KILLED_RUN = """
import datetime as dt, json, os, signal, sys
from pathlib import Path
from ocw_operators.db import make_engine
from ocw_operators.tivoli.prep import PrepConfig, prepare_dropbox

args = json.loads(sys.argv[1])
seen = {}

def checkpoint(step):
    seen[step] = seen.get(step, 0) + 1
    if step == args["step"] and seen[step] == args["occurrence"]:
        os.kill(os.getpid(), signal.SIGKILL)

config = PrepConfig(dropbox=Path(args["dropbox"]), staging=Path(args["staging"]), allow_rename=args["allow_rename"])
now = dt.datetime.fromisoformat(args["now"])
prepare_dropbox(make_engine(args["url"]), config, run_id="killed", clock=lambda: now, checkpoint=checkpoint)
sys.exit(3)  # the step never came: the test asked for a kill point that does not exist
"""

FILES = {  # every file dropped, by its path in the dropbox
    "UF11111111/00001/a.tif": "a",
    "UF11111111/00001/sub/b.tif": "b",
    "UF11111111/VID00002/c.tif": "c",
    "UF22222222/00001/d.tif": "d",
    "UF33333333_00001/a.tif": "a, changed",  # archived before with another size: renamed, moved file by file
    "UF33333333_00001/e.tif": "e",
    "UF33333333_00001/sub/f.tif": "f",
    "UF44444444_00001/g.tif": "g",
}


def _scenario(engine, dropbox: Path, staging: Path) -> None:
    dropbox.mkdir()
    staging.mkdir()
    with session_scope(engine) as session:
        session.add(
            TivoliFileLog(
                bibid="UF33333333",
                vid="00001",
                folder="",
                file_name="a.tif",
                original_name="a.tif",
                size=3,
                last_write_date=last_write_date(int(LONG_AGO.timestamp()) * 1_000_000_000),
                archive_date=LONG_AGO,
                sha1="0" * 40,
                state=FileState.ARCHIVED.value,
                source_path="UF33333333_00001/a.tif",
                staging_path="UF/33/33/33/33/00001/a.tif",
                prep_run="earlier",
            )
        )
    for relpath, content in FILES.items():
        put(dropbox / relpath, content)
    settle(dropbox)


def _staged_path(relpath: str) -> tuple[str, str]:
    """Dropbox path -> (volume, path inside it)."""
    top, _, rest = relpath.partition("/")
    if "_" in top:
        return top, rest
    vid_folder, _, inside = rest.partition("/")
    return f"{top}_{vid_folder.removeprefix('VID')}", inside


@pytest.mark.parametrize(
    ("allow_rename", "step", "occurrence"),
    [
        (True, "intents_written", 1),
        (True, "directory_moved", 2),  # both volumes of UF11111111 moved, the BibID folder not yet removed
        (True, "file_moved", 1),
        (True, "moves_synced", 1),
        (True, "staged_marked", 1),
        (False, "file_copied", 3),
        (False, "copy_renamed", 5),
        (False, "source_deleted", 7),
    ],
)
def test_a_kill_9_mid_run_then_a_rerun_leaves_no_empty_folder_and_loses_nothing(
    archive_db_url, archive_engine, tmp_path, allow_rename, step, occurrence
):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    _scenario(archive_engine, dropbox, staging)
    args = {
        "url": archive_db_url,
        "dropbox": str(dropbox),
        "staging": str(staging),
        "allow_rename": allow_rename,
        "now": NOW.isoformat(),
        "step": step,
        "occurrence": occurrence,
    }
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_RUN, json.dumps(args)], capture_output=True, text=True, timeout=120, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    settle(dropbox)  # the next run comes after the quiet period
    prepare_dropbox(
        archive_engine,
        PrepConfig(dropbox=dropbox, staging=staging, allow_rename=allow_rename),
        run_id="rerun",
        clock=lambda: NOW,
    )

    left = [str(Path(current).relative_to(dropbox)) for current, _dirs, _files in os.walk(dropbox)][1:]
    assert left == [], f"folders left in the dropbox after a kill at {step} #{occurrence}"
    rows = [row for row in log_rows(archive_engine) if row.prep_run != "earlier"]
    assert all(row.state == FileState.STAGED for row in rows)
    staged = tree(staging)
    dropped = tree(dropbox)
    for relpath, content in FILES.items():
        volume, inside = _staged_path(relpath)
        folder, _, name = inside.rpartition("/")
        logged = [
            row
            for row in rows
            if f"{row.bibid}_{row.vid}" == volume and (row.folder, row.original_name) == (folder, name)
        ]
        if relpath in dropped:
            assert logged == [] and dropped[relpath] == content.encode(), relpath
        else:
            assert len(logged) == 1, f"{relpath} logged {len(logged)} times"
            assert staged[logged[0].staging_path] == content.encode(), relpath
    assert len(staged) == len(rows) == len(FILES) - len(dropped), "nothing staged without its log row"
    assert not any(name.endswith(".tivoli-partial") for name in staged)


def test_empty_bibid_and_volume_folders_are_removed_once_past_the_quiet_period(archive_engine, boxes):
    dropbox, staging = boxes
    (dropbox / "UF11111111").mkdir()  # emptied by a crashed run
    (dropbox / "UF22222222" / "00001" / "images").mkdir(parents=True)  # a volume folder holding only a folder
    (dropbox / "UF33333333_00001").mkdir()
    (dropbox / "DLOC").mkdir()  # not ours: an intermediary folder is never touched
    settle(dropbox)
    (dropbox / "UF44444444").mkdir()  # just created: its volumes may be on their way
    fresh = (NOW - dt.timedelta(minutes=1)).timestamp()
    os.utime(dropbox / "UF44444444", (fresh, fresh))

    report = prepare_dropbox(
        archive_engine, PrepConfig(dropbox=dropbox, staging=staging), run_id="r", clock=lambda: NOW
    )
    assert sorted(path.name for path in dropbox.iterdir()) == ["DLOC", "UF44444444"]
    assert (
        report.dropbox_dirs_removed == 5
    )  # UF11111111; UF22222222/00001/images, its volume and BibID; UF33333333_00001
    assert (report.files_staged, report.held, log_rows(archive_engine)) == (0, [], [])
