"""The Tivoli operators as thin adapters: settings from arguments or Variables, clear errors, masking."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from airflow.sdk.exceptions import AirflowFailException

from ocw_operators.operators.tivoli import (
    TivoliDropboxPrepOperator,
    TivoliNightlyLoadOperator,
    TivoliRetrieveOperator,
    dsmc_command,
)
from ocw_operators.params import InvalidValueError, parse_names
from ocw_operators.tivoli.summary import listing
from tests.ocw_operators.tivoli.conftest import LONG_AGO, FolderLock, held_rows, log_rows, put, settle, tree


def _context(task_id: str = "t", try_number: int = 1) -> dict:
    ti = SimpleNamespace(dag_id="d", run_id="manual__1", task_id=task_id, try_number=try_number)
    return {"ti": ti, "run_id": "manual__1"}


def test_prep_operator_reads_variables_at_run_time(archive_db_conn, archive_engine, tmp_path, monkeypatch):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    put(dropbox / "UF12345678_00001" / "00001.tif", "one", LONG_AGO)
    staging.mkdir()
    settle(dropbox)
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DROPBOX_DIR", str(dropbox))
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_STAGING_DIR", str(staging))
    operator = TivoliDropboxPrepOperator(task_id="prepare")
    summary = operator.execute(_context())
    assert (summary["files_staged"], summary["volumes_staged"]) == (1, ["UF12345678_00001"])
    assert tree(staging) == {"UF/12/34/56/78/00001/00001.tif": b"one"}
    assert len(log_rows(archive_engine)) == 1


def test_prep_operator_fails_clearly_without_its_variables(archive_db_conn, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_TIVOLI_DROPBOX_DIR", raising=False)
    with pytest.raises(AirflowFailException, match="TIVOLI_DROPBOX_DIR"):
        TivoliDropboxPrepOperator(task_id="prepare").execute(_context())
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DROPBOX_DIR", "relative/dropbox")
    with pytest.raises(AirflowFailException, match="absolute"):
        TivoliDropboxPrepOperator(task_id="prepare").execute(_context())


def test_bad_quiet_minutes_is_a_clear_error(archive_db_conn, tmp_path):
    operator = TivoliDropboxPrepOperator(
        task_id="prepare", dropbox_dir=str(tmp_path), staging_dir=str(tmp_path), quiet_minutes="soon"
    )
    with pytest.raises(AirflowFailException, match="number"):
        operator.execute(_context())


def test_dsmc_password_is_masked(monkeypatch):
    masked = []
    monkeypatch.setattr("ocw_operators.operators.tivoli.mask_secret", masked.append)
    assert dsmc_command("dsmc -virtualnode=ARCHIVE -password=s3cret") == "dsmc -virtualnode=ARCHIVE -password=s3cret"
    assert masked == ["s3cret"]


def test_file_names_param_forms():
    def as_name_list(value):
        return parse_names(value, "file_names")

    assert as_name_list(["a.tif", " b.tif ", ""]) == ["a.tif", "b.tif"]
    assert as_name_list('["a.tif", "images/b.tif"]') == ["a.tif", "images/b.tif"]
    assert as_name_list("a.tif, b.tif\nc.tif") == ["a.tif", "b.tif", "c.tif"]
    assert as_name_list(None) == []
    with pytest.raises(InvalidValueError, match="file_names is not a valid JSON list"):
        as_name_list("[not json")


def test_load_and_retrieve_operators_end_to_end(archive_db_conn, tmp_path, monkeypatch):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    put(dropbox / "UF12345678_00001" / "00001.tif", "one", LONG_AGO)
    staging.mkdir()
    settle(dropbox)
    monkeypatch.setenv("OCW_FAKE_DSMC_VAULT", str(tmp_path / "vault"))
    fake = f"{shlex.quote(sys.executable)} -m ocw_sandbox.fake_dsmc"
    TivoliDropboxPrepOperator(task_id="p", dropbox_dir=str(dropbox), staging_dir=str(staging)).execute(_context())
    load = TivoliNightlyLoadOperator(task_id="l", staging_dir=str(staging), dsmc_command=fake, timeout_minutes=1)
    summary = load.execute(_context("l"))
    assert (summary["status"], summary["files_deleted"]) == ("succeeded", 1)
    destination = tmp_path / "out"
    retrieve = TivoliRetrieveOperator(
        task_id="r", bibid="uf12345678", vid="1", destination=str(destination), versions="all", dsmc_command=fake
    )
    assert retrieve.execute(_context("r"))["retrieved"] == ["00001.tif"]
    assert tree(destination) == {"UF12345678_00001/00001.tif": b"one"}


@pytest.mark.parametrize(
    ("request_params", "message"),
    [
        ({"bibid": "UF1234", "vid": "00001", "versions": "all"}, "two letters"),
        ({"bibid": "UF12345678", "vid": "00001", "versions": "newest"}, "bad retrieval request"),
    ],
)
def test_retrieve_operator_rejects_bad_params(archive_db_conn, tmp_path, request_params, message):
    operator = TivoliRetrieveOperator(task_id="r", destination=str(tmp_path), dsmc_command="dsmc", **request_params)
    with pytest.raises(AirflowFailException, match=message):
        operator.execute(_context("r"))


def test_lease_holder_differs_per_try():
    from ocw_operators.operators.tivoli import lease_holder

    assert lease_holder(_context(try_number=1)) != lease_holder(_context(try_number=2))
    assert dt.timedelta(minutes=5) == TivoliDropboxPrepOperator(task_id="x").lease_wait


# --- what the task log says ---------------------------------------------------------------------------------------


def _logged_sentences(operator, context) -> tuple[list[str], Any]:
    """The operator's log lines as rendered, and its return value (or the exception it raised)."""
    with structlog.testing.capture_logs() as captured:
        try:
            outcome = operator.execute(context)
        except AirflowFailException as error:
            outcome = error
    # Airflow warns that execute() runs outside its task runner; that line is Airflow's, not the operator's.
    lines = [entry["event"] for entry in captured if "outside of the Task Runner" not in entry["event"]]
    # A summary ends with the Archive page of the run (checked here, so the sentences before it stay comparable).
    assert lines[-1] == "Details: /archive/runs/d/manual__1", lines
    assert not any(line.startswith("Details: ") for line in lines[:-1])
    return lines[:-1], outcome


def _assert_plain_sentences(lines: list[str]) -> None:
    for line in lines:
        assert not re.search(r"[{}\[\]<>]|'\w+':|FileState|LoadStatus|VolumeStatus|Skipped\(|HeldVolume\(", line), line
        assert line.endswith("."), line


def test_listing_names_the_first_twenty_then_a_count():
    assert listing([]) == ""
    assert listing(["a"]) == "a"
    assert listing(["a", "b", "c"]) == "a, b and c"
    names = [f"{number:05d}.tif" for number in range(1, 26)]
    assert listing(names) == ", ".join(names[:20]) + " and 5 more"
    assert listing(names[:20], 1200) == ", ".join(names[:20]) + " and 1,180 more"


def test_prep_operator_logs_sentences_naming_volumes_and_files(archive_db_conn, tmp_path):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    staging.mkdir()
    for number in range(1, 24):
        put(dropbox / "UF12345678_00001" / f"{number:05d}.tif", "tiff")
    put(dropbox / "UF87654321" / "VID00002" / "images" / "a.jp2", "jp2")
    put(dropbox / "DLOC" / "CA00001234" / "00001" / "x.tif", "intermediary")
    settle(dropbox)
    operator = TivoliDropboxPrepOperator(task_id="p", dropbox_dir=str(dropbox), staging_dir=str(staging))
    lines, summary = _logged_sentences(operator, _context())
    first_twenty = ", ".join(f"UF12345678_00001/{number:05d}.tif" for number in range(1, 21))
    assert lines == [
        f"Staged 24 files (95 bytes) from 2 volumes, UF12345678_00001 and UF87654321_00002: {first_twenty} and 4 more.",
        "Skipped 1 folder in the dropbox: DLOC (not a BibID_VID or BibID folder; intermediary folders are not "
        "descended into (place resource folders at the top level of the dropbox)).",
        "Removed 1 emptied folder from the dropbox.",  # UF87654321, once its only volume moved
    ]
    _assert_plain_sentences(lines)
    assert summary["files_staged"] == 24


def test_prep_operator_stages_the_others_then_fails_naming_the_held_volume(
    archive_db_conn, archive_engine, tmp_path, monkeypatch
):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    staging.mkdir()
    put(dropbox / "UF11111111_00001" / "a.tif", "a")
    put(dropbox / "UF22222222_00001" / "b.tif", "b")
    settle(dropbox)
    FolderLock(dropbox / "UF11111111_00001", real=False, monkeypatch=monkeypatch).lock()
    operator = TivoliDropboxPrepOperator(task_id="p", dropbox_dir=str(dropbox), staging_dir=str(staging))
    lines, outcome = _logged_sentences(operator, _context())
    assert isinstance(outcome, AirflowFailException), "the operator is told: the task fails, without retries"
    assert str(outcome) == (
        "1 volume could not be staged and is held in the dropbox: UF11111111_00001. Every other volume was "
        "processed; the task log gives each held volume's reason, and the next run tries them again."
    )
    assert tree(staging) == {"UF/22/22/22/22/00001/b.tif": b"b"}, "staged before the task failed"
    assert lines[0] == "Staged 1 file (1 byte) from 1 volume, UF22222222_00001: UF22222222_00001/b.tif."
    assert re.fullmatch(
        r"Held UF11111111_00001 in the dropbox since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(first attempt\): could not "
        r"move UF11111111_00001 into the staging area: Operation not permitted \(EPERM\)\. The rest stays in the "
        r"dropbox and is tried again next run\.",
        lines[1],
    ), lines[1]
    _assert_plain_sentences(lines)
    assert [(row.bibid, row.reason) for row in held_rows(archive_engine)] == [
        ("UF11111111", "could not move UF11111111_00001 into the staging area: Operation not permitted (EPERM)")
    ]


def test_load_and_retrieve_operators_log_sentences_naming_files(archive_db_conn, tmp_path, monkeypatch):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    put(dropbox / "UF12345678_00001" / "00001.tif", "one")
    put(dropbox / "UF12345678_00001" / "images" / "00002.jp2", "two")
    staging.mkdir()
    settle(dropbox)
    monkeypatch.setenv("OCW_FAKE_DSMC_VAULT", str(tmp_path / "vault"))
    fake = f"{shlex.quote(sys.executable)} -m ocw_sandbox.fake_dsmc"
    TivoliDropboxPrepOperator(task_id="p", dropbox_dir=str(dropbox), staging_dir=str(staging)).execute(_context())
    load = TivoliNightlyLoadOperator(task_id="l", staging_dir=str(staging), dsmc_command=fake, timeout_minutes=1)
    lines, _summary = _logged_sentences(load, _context("l"))
    assert lines == [
        "Load batch 1 succeeded: dsmc archived 2 files (6 bytes) of 2 staged files from 1 volume, UF12345678_00001, "
        "and 2 files were deleted from staging: UF12345678_00001/00001.tif and UF12345678_00001/images/00002.jp2."
    ]
    again, _summary = _logged_sentences(load, _context("l"))
    assert again == ["Load batch 1 had already finished (succeeded) for this run; nothing was done again."]

    destination = tmp_path / "out"
    retrieve = TivoliRetrieveOperator(
        task_id="r", bibid="UF12345678", vid="00001", destination=str(destination), versions="all", dsmc_command=fake
    )
    fetched, _summary = _logged_sentences(retrieve, _context("r"))
    assert fetched == [
        f"Retrieved 2 of 2 versions of UF12345678_00001 into {destination}/UF12345678_00001: 00001.tif and "
        "images/00002.jp2."
    ]
    present, _summary = _logged_sentences(retrieve, _context("r"))
    assert present == [
        f"Retrieved none of 2 versions of UF12345678_00001 into {destination}/UF12345678_00001.",
        "2 files were already there with the logged SHA-1 and were not fetched again: 00001.tif and images/00002.jp2.",
    ]
    _assert_plain_sentences(lines + again + fetched + present)
