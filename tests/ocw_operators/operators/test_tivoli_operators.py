"""The Tivoli operators as thin adapters: settings from arguments or Variables, clear errors, masking."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from ocw_operators.operators.tivoli import (
    TivoliDropboxPrepOperator,
    TivoliNightlyLoadOperator,
    TivoliRetrieveOperator,
    as_name_list,
    dsmc_command,
)
from tests.ocw_operators.tivoli.conftest import LONG_AGO, log_rows, put, settle, tree


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
    assert as_name_list(["a.tif", " b.tif ", ""]) == ["a.tif", "b.tif"]
    assert as_name_list('["a.tif", "images/b.tif"]') == ["a.tif", "images/b.tif"]
    assert as_name_list("a.tif, b.tif\nc.tif") == ["a.tif", "b.tif", "c.tif"]
    assert as_name_list(None) == []
    with pytest.raises(AirflowFailException):
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
