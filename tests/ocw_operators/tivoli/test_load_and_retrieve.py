"""The nightly load and retrieval against the sandbox's fake dsmc, on real files."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import FileState, LoadStatus, TivoliLoadBatch, TivoliVolumeStatus, VolumeStatus
from ocw_operators.tivoli.dsmc import parse_archive_output, redact
from ocw_operators.tivoli.identifiers import VolumeId
from ocw_operators.tivoli.load import LoadConfig, LoadFailedError, LoadIncompleteError, nightly_load
from ocw_operators.tivoli.retrieve import RetrievalError, VersionChoice, list_versions, retrieve_volume
from tests.ocw_operators.tivoli.conftest import LONG_AGO, log_rows, put, run_prep, tree

ROOT = Path(__file__).resolve().parents[3]
FAKE_DSMC = f"{shlex.quote(sys.executable)} -m ocw_sandbox.fake_dsmc"
VOLUME = VolumeId("UF12345678", "00001")


@pytest.fixture
def vault(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "vault"
    monkeypatch.setenv("OCW_FAKE_DSMC_VAULT", str(path))
    for name in ("OCW_FAKE_DSMC_FAIL_AFTER", "OCW_FAKE_DSMC_FAIL_FILES", "OCW_FAKE_DSMC_HANG_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return path


def _package(dropbox: Path, *, tiff2="tiff two", mets="<mets/>", mtime=LONG_AGO) -> None:
    folder = dropbox / "UF12345678_00001"
    put(folder / "00001.tif", "tiff one")
    put(folder / "00002.tif", tiff2, mtime)
    put(folder / "00003.tif", "tiff three")
    put(folder / "UF12345678_00001.mets", mets, mtime)


def _load(engine, staging, run_key, **options):
    return nightly_load(engine, LoadConfig(staging=staging, dsmc_command=FAKE_DSMC, **options), run_key=run_key)


def _batches(engine):
    with session_scope(engine) as session:
        return list(session.scalars(select(TivoliLoadBatch).order_by(TivoliLoadBatch.id)))


def test_parse_dsmc_archive_output():
    output = [
        "Archive function invoked.",
        "Directory-->                   0 /staging/UF [Sent]",
        "Normal File-->             1,234 /staging/UF/12/34/56/78/00001/00002 (2009_10_10).tif [Sent]",
        "ANS1228E Sending of object '/staging/UF/12/34/56/78/00001/x.tif' failed.",
        "Total number of objects archived:         1",
    ]
    parsed = parse_archive_output(output)
    assert parsed.sent == [("/staging/UF/12/34/56/78/00001/00002 (2009_10_10).tif", 1234)]
    assert parsed.failed == ["/staging/UF/12/34/56/78/00001/x.tif"]
    assert parsed.summary["objects archived"] == "1"
    assert redact(["dsmc", "-password=hunter2", "archive"]) == ["dsmc", "-password=***", "archive"]


def test_nightly_load_archives_deletes_only_reported_files_and_records_the_batch(archive_engine, boxes, vault):
    dropbox, staging = boxes
    _package(dropbox)
    run_prep(archive_engine, dropbox, staging)
    put(staging / "stray" / "unlogged.txt", "not ours")
    report = _load(archive_engine, staging, "scheduled__2009-10-10T18:00")
    assert report.status == LoadStatus.SUCCEEDED
    assert (report.files_staged, report.files_archived, report.files_deleted) == (4, 4, 4)
    assert report.not_in_log == [str(staging.resolve() / "stray" / "unlogged.txt")]
    assert tree(staging) == {"stray/unlogged.txt": b"not ours"}, "unlogged files are reported, never deleted"
    assert {row.state for row in log_rows(archive_engine)} == {FileState.ARCHIVED}
    (batch,) = _batches(archive_engine)
    assert (batch.status, batch.return_code, batch.files_archived) == (LoadStatus.SUCCEEDED, 0, 4)
    assert json.loads(batch.command)[-4:-1] == ["archive", f"{staging.resolve()}/*", "-subdir=yes"]
    with session_scope(archive_engine) as session:
        status = session.get(TivoliVolumeStatus, ("UF12345678", "00001"))
    assert (status.status, status.files_archived) == (VolumeStatus.ARCHIVED, 4)
    # A retry of the same run is a no-op; the vault holds each file once.
    again = _load(archive_engine, staging, "scheduled__2009-10-10T18:00")
    assert again.batch_id == report.batch_id and len(_batches(archive_engine)) == 1
    assert len((vault / "catalog.jsonl").read_text().splitlines()) == 5  # 4 files + the stray one


def test_a_failed_load_deletes_nothing(archive_engine, boxes, vault, monkeypatch):
    dropbox, staging = boxes
    _package(dropbox)
    run_prep(archive_engine, dropbox, staging)
    before = tree(staging)
    monkeypatch.setenv("OCW_FAKE_DSMC_FAIL_AFTER", "2")
    with pytest.raises(LoadFailedError, match="nothing was deleted"):
        _load(archive_engine, staging, "run-1")
    assert tree(staging) == before
    assert {row.state for row in log_rows(archive_engine)} == {FileState.STAGED}
    (batch,) = _batches(archive_engine)
    assert (batch.status, batch.return_code) == (LoadStatus.FAILED, 12)
    # The retry (same run) succeeds once the session works again.
    monkeypatch.delenv("OCW_FAKE_DSMC_FAIL_AFTER")
    assert _load(archive_engine, staging, "run-1").files_deleted == 4
    assert tree(staging) == {}


def test_a_load_that_times_out_is_stopped_and_deletes_nothing(archive_engine, boxes, vault, monkeypatch):
    dropbox, staging = boxes
    _package(dropbox)
    run_prep(archive_engine, dropbox, staging)
    monkeypatch.setenv("OCW_FAKE_DSMC_HANG_SECONDS", "30")
    with pytest.raises(LoadFailedError, match="did not finish"):
        _load(archive_engine, staging, "run-1", timeout=dt.timedelta(seconds=1))
    assert len(tree(staging)) == 4
    assert _batches(archive_engine)[0].return_code is None


def test_per_file_failures_delete_only_what_was_sent(archive_engine, boxes, vault, monkeypatch):
    dropbox, staging = boxes
    _package(dropbox)
    run_prep(archive_engine, dropbox, staging)
    monkeypatch.setenv("OCW_FAKE_DSMC_FAIL_FILES", "*.mets")
    with pytest.raises(LoadIncompleteError, match="3 of 4") as failure:
        _load(archive_engine, staging, "run-1")
    assert str(failure.value).endswith(
        f"dsmc reported these failed: {staging.resolve()}/UF/12/34/56/78/00001/UF12345678_00001.mets"
    ), "the error names the files that stay staged"
    assert list(tree(staging)) == ["UF/12/34/56/78/00001/UF12345678_00001.mets"]
    assert _batches(archive_engine)[0].status == LoadStatus.PARTIAL
    monkeypatch.delenv("OCW_FAKE_DSMC_FAIL_FILES")
    report = _load(archive_engine, staging, "run-1")
    assert (report.status, report.files_archived, tree(staging)) == (LoadStatus.SUCCEEDED, 1, {})


def test_a_load_with_nothing_staged_does_not_run_dsmc(archive_engine, boxes, vault):
    _dropbox, staging = boxes
    report = _load(archive_engine, staging, "run-1")
    assert report.status == LoadStatus.EMPTY
    assert not vault.exists()


def test_the_wrapper_script_works_as_the_dsmc_command(archive_engine, boxes, vault, monkeypatch):
    dropbox, staging = boxes
    _package(dropbox)
    run_prep(archive_engine, dropbox, staging)
    monkeypatch.setenv("OCW_FAKE_DSMC_PYTHON", sys.executable)
    wrapper = ROOT / "include" / "ocw_sandbox" / "bin" / "dsmc"
    report = nightly_load(archive_engine, LoadConfig(staging=staging, dsmc_command=str(wrapper)), run_key="r")
    assert report.files_deleted == 4


def _archive_two_loads(engine, dropbox, staging):
    _package(dropbox)
    run_prep(engine, dropbox, staging, now=dt.datetime(2009, 10, 1, 12, tzinfo=dt.UTC), run_id="p1")
    _load(engine, staging, "load-1")
    changed = LONG_AGO + dt.timedelta(days=3)
    _package(dropbox, tiff2="tiff two, rescanned", mets="<mets v='2'/>", mtime=changed)
    run_prep(engine, dropbox, staging, run_id="p2")
    _load(engine, staging, "load-2")


def test_retrieve_every_version_gives_the_seeds_listing(archive_engine, boxes, vault, tmp_path):
    dropbox, staging = boxes
    _archive_two_loads(archive_engine, dropbox, staging)
    destination = tmp_path / "requests"
    report = retrieve_volume(archive_engine, VOLUME, destination, dsmc_command=FAKE_DSMC, choice=VersionChoice.ALL)
    assert sorted(tree(destination / "UF12345678_00001")) == [
        "00001.tif",
        "00002 (2009_10_10).tif",
        "00002.tif",
        "00003.tif",
        "UF12345678_00001 (2009_10_10).mets",
        "UF12345678_00001.mets",
    ]
    assert tree(destination)["UF12345678_00001/00002 (2009_10_10).tif"] == b"tiff two, rescanned"
    assert len(report.retrieved) == 6
    # Asking again fetches nothing: every file is present with the logged SHA-1.
    again = retrieve_volume(archive_engine, VOLUME, destination, dsmc_command=FAKE_DSMC, choice=VersionChoice.ALL)
    assert (again.retrieved, len(again.already_present)) == ([], 6)


def test_retrieve_latest_only_and_selected_files(archive_engine, boxes, vault, tmp_path):
    dropbox, staging = boxes
    _archive_two_loads(archive_engine, dropbox, staging)
    latest = list_versions(archive_engine, VOLUME, choice=VersionChoice.LATEST)
    assert sorted(v.file_name for v in latest) == [
        "00001.tif",
        "00002 (2009_10_10).tif",
        "00003.tif",
        "UF12345678_00001 (2009_10_10).mets",
    ]
    every = list_versions(archive_engine, VOLUME, file_names=["00002.tif"], choice=VersionChoice.ALL)
    assert [v.file_name for v in every] == ["00002.tif", "00002 (2009_10_10).tif"]
    destination = tmp_path / "one"
    retrieve_volume(
        archive_engine,
        VOLUME,
        destination,
        dsmc_command=FAKE_DSMC,
        file_names=["00002.tif"],
        choice=VersionChoice.LATEST,
    )
    assert tree(destination) == {"UF12345678_00001/00002 (2009_10_10).tif": b"tiff two, rescanned"}


def test_retrieval_refuses_bad_requests(archive_engine, boxes, vault, tmp_path):
    dropbox, staging = boxes
    _archive_two_loads(archive_engine, dropbox, staging)
    with pytest.raises(RetrievalError, match="no archived files"):
        retrieve_volume(archive_engine, VolumeId("UF99999999", "00001"), tmp_path / "x", dsmc_command=FAKE_DSMC)
    with pytest.raises(RetrievalError, match="absolute"):
        retrieve_volume(archive_engine, VOLUME, Path("relative"), dsmc_command=FAKE_DSMC)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    with pytest.raises(RetrievalError, match="outside the retrieval area"):
        retrieve_volume(
            archive_engine, VOLUME, allowed / ".." / "elsewhere", dsmc_command=FAKE_DSMC, allowed_root=allowed
        )
    clash = tmp_path / "clash"
    put(clash / "UF12345678_00001" / "00001.tif", "a different file")
    with pytest.raises(RetrievalError, match="refusing to overwrite"):
        retrieve_volume(archive_engine, VOLUME, clash, dsmc_command=FAKE_DSMC, file_names=["00001.tif"])
    assert (clash / "UF12345678_00001" / "00001.tif").read_text() == "a different file"


def test_a_corrupt_retrieval_is_detected_and_removed(archive_engine, boxes, vault, tmp_path):
    dropbox, staging = boxes
    _archive_two_loads(archive_engine, dropbox, staging)
    for stored in (vault / "objects").iterdir():
        if stored.read_bytes() == b"tiff one":
            stored.write_bytes(b"TIFF ONE")  # same size, other content
    with pytest.raises(RetrievalError, match="SHA-1"):
        retrieve_volume(archive_engine, VOLUME, tmp_path / "out", dsmc_command=FAKE_DSMC, file_names=["00001.tif"])
    assert tree(tmp_path / "out") == {}


class SimulatedCrash(BaseException):
    """A killed worker: no ``except Exception`` absorbs it."""


def test_a_load_stopped_after_recording_finishes_its_deletes_on_retry(archive_engine, boxes, vault, monkeypatch):
    dropbox, staging = boxes
    _package(dropbox)
    run_prep(archive_engine, dropbox, staging)

    def crash(*_args, **_kwargs):
        raise SimulatedCrash("worker killed between recording and deleting")

    monkeypatch.setattr("ocw_operators.tivoli.load._delete_from_staging", crash)
    with pytest.raises(SimulatedCrash):
        _load(archive_engine, staging, "run-1")
    assert len(tree(staging)) == 4 and {r.state for r in log_rows(archive_engine)} == {FileState.ARCHIVED}
    monkeypatch.undo()
    monkeypatch.setenv("OCW_FAKE_DSMC_VAULT", str(vault))
    report = _load(archive_engine, staging, "run-1")
    assert (report.status, report.leftovers_deleted) == (LoadStatus.SUCCEEDED, 4)
    assert tree(staging) == {}
    assert len((vault / "catalog.jsonl").read_text().splitlines()) == 4, "nothing was archived twice"


def test_the_load_waits_for_a_preparation_holding_the_staging_lease(archive_engine, boxes, vault):
    from ocw_operators.tivoli.lease import STAGING_LEASE, LeaseHeldError, held_lease
    from ocw_operators.tivoli.load import nightly_load_with_lease

    _dropbox, staging = boxes
    config = LoadConfig(staging=staging, dsmc_command=FAKE_DSMC)
    preparing = held_lease(archive_engine, STAGING_LEASE, "tivoli_dropbox_prep/run/try-1")
    with preparing, pytest.raises(LeaseHeldError, match="tivoli_dropbox_prep"):
        nightly_load_with_lease(archive_engine, config, run_key="r", holder="load", lease_wait=dt.timedelta(0))
    assert nightly_load_with_lease(archive_engine, config, run_key="r", holder="load").status == LoadStatus.EMPTY


def test_dsmc_runs_under_a_heartbeat_and_is_stopped_when_the_lease_is_lost(tmp_path, vault, monkeypatch):
    from ocw_operators.tivoli.dsmc import run_dsmc
    from ocw_operators.tivoli.lease import LeaseHeldError

    monkeypatch.setenv("OCW_FAKE_DSMC_HANG_SECONDS", "30")
    beats = []

    def heartbeat():
        beats.append(1)
        if len(beats) == 3:
            raise LeaseHeldError("lease 'tivoli:staging' was lost")

    argv = [*shlex.split(FAKE_DSMC), "query", "archive", "/x"]
    started = time.monotonic()
    with pytest.raises(LeaseHeldError):
        run_dsmc(argv, output_path=tmp_path / "out", timeout_seconds=60, heartbeat=heartbeat, heartbeat_seconds=0.2)
    assert len(beats) == 3 and time.monotonic() - started < 15, "dsmc was stopped, not waited for"
