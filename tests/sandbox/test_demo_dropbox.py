"""make run's demo Tivoli dropbox: real prep runs (real clock, default quiet period) find work, and the re-drop
exercises the seed's rename rule on the second run."""

from __future__ import annotations

import datetime as dt
import re

from ocw_operators.db.base import utcnow
from ocw_operators.tivoli.prep import PrepConfig, prepare_dropbox
from ocw_sandbox.demo import DEMO_DROPBOX, seed_tivoli_dropbox
from tests.ocw_operators.tivoli.conftest import log_rows, tree


def _prep(engine, dropbox, staging, run_id):
    # The real clock and the DAG's default 5-minute quiet period: what the first manual trigger does.
    return prepare_dropbox(engine, PrepConfig(dropbox=dropbox, staging=staging), run_id=run_id, clock=utcnow)


def test_demo_volumes_are_staged_and_the_redrop_is_renamed_on_the_second_run(archive_engine, tmp_path):
    dropbox, staging = tmp_path / "tivoli" / "DROPBOX", tmp_path / "tivoli" / "staging"
    staging.mkdir(parents=True)
    added = seed_tivoli_dropbox(dropbox)
    assert added == list(DEMO_DROPBOX)
    assert {path.name for path in dropbox.iterdir()} == {"UF00001234", "UF00001234_00001", "UF00005678_00001",
                                                        "UF00009012"}  # fmt: skip

    first = _prep(archive_engine, dropbox, staging, "demo-1")
    assert sorted(first.volumes_staged) == ["UF00001234_00001", "UF00005678_00001", "UF00009012_00001"]
    assert [(s.path, "left for the next run" in s.reason) for s in first.skipped] == [("UF00001234_00001", True)]
    assert first.files_renamed == 0
    assert sorted(tree(staging / "UF" / "00" / "00" / "12" / "34" / "00001")) == [
        "00001.tif", "00001.txt", "UF00001234_00001.mets.xml",
    ]  # fmt: skip

    second = _prep(archive_engine, dropbox, staging, "demo-2")
    assert (second.files_staged, second.files_renamed, second.files_discarded) == (1, 1, 1)
    today = dt.datetime.now(dt.UTC).date()
    volume = tree(staging / "UF" / "00" / "00" / "12" / "34" / "00001")
    dated = f"00001 ({today:%Y_%m_%d}).txt"
    assert re.fullmatch(r"00001 \(\d{4}_\d{2}_\d{2}\)\.txt", dated)
    assert volume[dated] == b"Lecture notes, page 1 (corrected OCR).\n"
    assert volume["00001.txt"] == b"Lecture notes, page 1.\n"
    assert list(dropbox.iterdir()) == []
    renamed = [row for row in log_rows(archive_engine) if row.file_name != row.original_name]
    assert [(row.file_name, row.original_name) for row in renamed] == [(dated, "00001.txt")]


def test_reseeding_after_the_prep_stages_nothing_twice(archive_engine, tmp_path):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    staging.mkdir()
    seed_tivoli_dropbox(dropbox)
    _prep(archive_engine, dropbox, staging, "demo-1")
    _prep(archive_engine, dropbox, staging, "demo-2")
    staged = tree(staging)

    assert seed_tivoli_dropbox(dropbox) == list(DEMO_DROPBOX)  # the next `make run` drops the same volumes
    assert seed_tivoli_dropbox(dropbox) == []  # ... once: volumes still waiting are left alone
    third = _prep(archive_engine, dropbox, staging, "demo-3")
    fourth = _prep(archive_engine, dropbox, staging, "demo-4")
    assert third.files_staged + fourth.files_staged == 0
    assert tree(staging) == staged
    assert list(dropbox.iterdir()) == []
