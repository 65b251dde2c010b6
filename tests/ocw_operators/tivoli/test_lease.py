"""The cross-worker lease, raced from two threads on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from ocw_operators.tivoli import lease
from ocw_operators.tivoli.lease import LeaseHeldError, held_lease, release, renew, try_acquire
from ocw_operators.tivoli.prep import PrepConfig, prepare_with_lease
from tests.ocw_operators.tivoli.conftest import NOW, log_rows, put, settle, tree

TTL = dt.timedelta(minutes=5)


def _race(targets):
    barrier = threading.Barrier(len(targets))
    results: dict[int, object] = {}

    def run(index, target):
        barrier.wait()
        try:
            results[index] = target()
        except BaseException as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return [results[i] for i in range(len(targets))]


def test_exactly_one_of_two_threads_gets_the_lease(archive_engine):
    for round_number in range(5):
        name = f"race-{round_number}"
        results = _race(
            [
                lambda n=name: try_acquire(archive_engine, n, "a", TTL),
                lambda n=name: try_acquire(archive_engine, n, "b", TTL),
            ]
        )
        assert sorted(results) == [False, True], results
    assert lease.current_holder(archive_engine, "race-0")[0] in {"a", "b"}


def test_lease_is_renewed_by_its_holder_released_and_taken_over_after_expiry(archive_engine):
    assert try_acquire(archive_engine, "l", "a", TTL, clock=lambda: NOW)
    assert not try_acquire(archive_engine, "l", "b", TTL, clock=lambda: NOW + dt.timedelta(minutes=4))
    renew(archive_engine, "l", "a", TTL, clock=lambda: NOW + dt.timedelta(minutes=4))
    assert not try_acquire(archive_engine, "l", "b", TTL, clock=lambda: NOW + dt.timedelta(minutes=8))
    # The holder stopped renewing (a dead worker): after expiry another holder takes it over.
    assert try_acquire(archive_engine, "l", "b", TTL, clock=lambda: NOW + dt.timedelta(minutes=10))
    with pytest.raises(LeaseHeldError, match="lost"):
        renew(archive_engine, "l", "a", TTL, clock=lambda: NOW + dt.timedelta(minutes=10))
    release(archive_engine, "l", "a")  # not the holder: no effect
    assert lease.current_holder(archive_engine, "l")[0] == "b"
    release(archive_engine, "l", "b")
    assert lease.current_holder(archive_engine, "l") is None


def test_held_lease_waits_then_names_the_holder(archive_engine):
    waiting = held_lease(archive_engine, "busy", "second", wait=dt.timedelta(seconds=0.3), poll_seconds=0.1)
    refused = pytest.raises(LeaseHeldError, match="held by 'first'")
    with held_lease(archive_engine, "busy", "first", ttl=TTL), refused, waiting:
        pytest.fail("the second holder must not get the lease")
    with held_lease(archive_engine, "busy", "second"):
        assert lease.current_holder(archive_engine, "busy")[0] == "second"


def test_two_overlapping_preparations_never_process_the_same_folder(archive_engine, tmp_path):
    dropbox, staging = tmp_path / "DROPBOX", tmp_path / "staging"
    dropbox.mkdir()
    staging.mkdir()
    for n in range(6):
        for f in range(5):
            put(dropbox / f"UF1234567{n}_00001" / f"{f:05d}.tif", f"{n}-{f}")
    settle(dropbox)
    config = PrepConfig(dropbox=dropbox, staging=staging)
    start_gate = threading.Event()

    def slow_checkpoint(step):
        if step == "intents_written":
            start_gate.wait(timeout=5)  # hold the lease while the other thread tries

    def first():
        return prepare_with_lease(
            archive_engine, config, holder="worker-1", clock=lambda: NOW, checkpoint=slow_checkpoint
        )

    def second():
        try:
            return prepare_with_lease(
                archive_engine, config, holder="worker-2", clock=lambda: NOW, lease_wait=dt.timedelta(seconds=0.5)
            )
        finally:
            start_gate.set()

    results = _race([first, second])
    reports = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, LeaseHeldError)]
    assert len(reports) + len(refused) == 2, results
    assert sum(report.files_staged for report in reports) == 30
    rows = log_rows(archive_engine)
    assert len(rows) == 30
    assert len({(r.bibid, r.vid, r.folder, r.file_name) for r in rows}) == 30
    assert len(tree(staging)) == 30 and tree(dropbox) == {}
