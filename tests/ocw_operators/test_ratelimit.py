"""The archive-DB rate limiter: slot arithmetic with a fake clock, and one real limit across threads and processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from ocw_operators.db import make_engine, session_scope
from ocw_operators.db.models import RateLimitBucket
from ocw_operators.ratelimit import DbRateLimiter, RateLimitWaitTooLong
from tests.conftest import WaybackSandbox


class FakeTime:
    """A clock that only moves when the limiter sleeps (or the test advances it)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter(engine, fake: FakeTime, rate: float = 2.0, name: str = "test", **kwargs) -> DbRateLimiter:
    return DbRateLimiter(engine, name, rate, clock=fake.clock, sleep=fake.sleep, **kwargs)


def test_slots_are_spaced_by_one_over_rate(archive_engine):
    fake = FakeTime()
    limiter = _limiter(archive_engine, fake, rate=2.0)
    slots = [limiter.acquire().slot_at for _ in range(4)]
    assert slots == [1_000_000.0 + 0.5 * i for i in range(4)]
    assert fake.sleeps == [0.5, 0.5, 0.5]


def test_idle_time_is_not_banked(archive_engine):
    fake = FakeTime()
    limiter = _limiter(archive_engine, fake, rate=1.0)
    limiter.acquire()
    fake.now += 100  # a long idle period must not allow a burst afterwards
    assert limiter.acquire().waited == 0
    assert limiter.acquire().waited == pytest.approx(1.0)


def test_limiters_with_one_name_share_the_limit_and_other_names_do_not(archive_engine):
    fake = FakeTime()
    first, second = _limiter(archive_engine, fake, rate=1.0), _limiter(archive_engine, fake, rate=1.0)
    other = _limiter(archive_engine, fake, rate=1.0, name="other")
    assert first.reserve() == 1_000_000.0
    assert second.reserve() == 1_000_001.0
    assert other.reserve() == 1_000_000.0


def test_penalize_pushes_every_caller_back_and_never_pulls_forward(archive_engine):
    fake = FakeTime()
    limiter = _limiter(archive_engine, fake, rate=10.0)
    limiter.acquire()
    limiter.penalize(30)
    limiter.penalize(5)  # a shorter Retry-After must not shorten the longer one
    reservation = _limiter(archive_engine, fake, rate=10.0).acquire()
    assert reservation.slot_at == 1_000_030.0
    assert reservation.waited == pytest.approx(30.0)


def test_refuses_to_wait_too_long_without_taking_the_slot(archive_engine):
    fake = FakeTime()
    limiter = _limiter(archive_engine, fake, rate=0.1, max_wait_seconds=5)
    limiter.acquire()
    with pytest.raises(RateLimitWaitTooLong, match="10s away"):
        limiter.acquire()
    with session_scope(archive_engine) as session:
        assert session.get(RateLimitBucket, "test").next_slot_at == 1_000_010.0


def test_invalid_configuration_is_refused(archive_engine):
    with pytest.raises(ValueError, match="positive"):
        DbRateLimiter(archive_engine, "x", 0)
    with pytest.raises(ValueError, match="1-64"):
        DbRateLimiter(archive_engine, "x" * 65, 1)


def test_sleeps_only_after_the_transaction_committed(archive_engine, archive_db_url):
    """While the limiter sleeps, another connection can lock the bucket row at once (no lock is held)."""
    other = make_engine(archive_db_url)
    fake = FakeTime()
    observed: list[bool] = []

    def sleep_and_probe(seconds: float) -> None:
        if other.dialect.name == "sqlite":
            # A raw connection that refuses to wait: BEGIN IMMEDIATE fails at once if a writer holds the lock.
            probe = sqlite3.connect(make_url(archive_db_url).database, timeout=0, isolation_level=None)
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            probe.close()
        else:
            with other.connect() as connection:
                connection.execute(text("SELECT 1 FROM rate_limit_bucket WHERE name = 'test' FOR UPDATE NOWAIT"))
                connection.rollback()
        observed.append(True)
        fake.sleep(seconds)

    limiter = DbRateLimiter(archive_engine, "test", 1.0, clock=fake.clock, sleep=sleep_and_probe)
    limiter.acquire()
    limiter.acquire()
    other.dispose()
    assert observed == [True]


# --- one real limit across concurrent submitters ---------------------------------------------------------

RATE = 20.0  # requests per second: fast enough for a test, slow enough to measure
PER_SUBMITTER = 8


def _submit_many(spec: dict) -> int:
    """One independent submitter (its own engine and HTTP client), as a separate worker would be."""
    db_url, base_url, key, secret, bucket, start_at = (
        spec[name] for name in ("db_url", "base_url", "key", "secret", "bucket", "start_at")
    )
    import requests

    from ocw_operators.clients.wayback_spn2 import Spn2Client, Spn2Settings
    from ocw_operators.db import make_engine
    from ocw_operators.ratelimit import DbRateLimiter

    engine = make_engine(db_url)
    limiter = DbRateLimiter(engine, bucket, RATE)
    time.sleep(max(0.0, start_at - time.time()))
    sent = 0
    settings = Spn2Settings(base_url=base_url, access_key=key, secret=secret, timeout=5)
    with Spn2Client(settings, requests.Session()) as client:
        for number in range(PER_SUBMITTER):
            limiter.acquire()
            client.submit_capture(f"https://example.org/{bucket}/{start_at}/{id(engine)}/{number}")
            sent += 1
    engine.dispose()
    return sent


def _spec(db_url: str, sandbox: WaybackSandbox, bucket: str, start_at: float) -> dict:
    return {
        "db_url": db_url,
        "base_url": sandbox.base_url,
        "key": sandbox.access_key,
        "secret": sandbox.secret,
        "bucket": bucket,
        "start_at": start_at,
    }


def _assert_rate_held(arrivals: list[float], rate: float) -> None:
    arrivals = sorted(arrivals)
    # Slots are exactly 1/rate apart; arrival jitter (scheduling, loopback) is far below this tolerance.
    tolerance = 0.5 / rate
    for count in range(1, len(arrivals)):
        for start in range(len(arrivals) - count):
            span = arrivals[start + count] - arrivals[start]
            assert span >= count / rate - tolerance, (
                f"{count + 1} requests arrived within {span:.3f}s; the limit allows {count / rate:.3f}s"
            )


def _run_threads(archive_db_url, sandbox, buckets):
    start_at = time.time() + 0.3
    threads = [
        threading.Thread(
            target=_submit_many,
            args=(_spec(archive_db_url, sandbox, bucket, start_at),),
        )
        for bucket in buckets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


def test_two_threads_share_one_limit(archive_db_url, sandbox_runtime):
    sandbox = WaybackSandbox(sandbox_runtime)
    _run_threads(archive_db_url, sandbox, ["spn2", "spn2"])
    arrivals = [request["time"] for request in sandbox.save_requests()]
    assert len(arrivals) == 2 * PER_SUBMITTER
    _assert_rate_held(arrivals, RATE)


def test_the_rate_check_catches_limiters_that_do_not_share(archive_db_url, sandbox_runtime):
    """Control: two limiters with their own buckets together send twice the rate, and the check sees it."""
    sandbox = WaybackSandbox(sandbox_runtime)
    _run_threads(archive_db_url, sandbox, ["spn2-a", "spn2-b"])
    with pytest.raises(AssertionError, match="requests arrived within"):
        _assert_rate_held([request["time"] for request in sandbox.save_requests()], RATE)


def test_two_processes_share_one_limit(archive_db_url, sandbox_runtime):
    sandbox = WaybackSandbox(sandbox_runtime)
    start_at = time.time() + 3.0  # spawned interpreters need a moment to import
    context = multiprocessing.get_context("spawn")
    args = (_spec(archive_db_url, sandbox, "spn2", start_at),)
    with context.Pool(2) as pool:
        results = [pool.apply_async(_submit_many, args) for _ in range(2)]
        assert [result.get(timeout=60) for result in results] == [PER_SUBMITTER, PER_SUBMITTER]
    arrivals = [request["time"] for request in sandbox.save_requests()]
    assert len(arrivals) == 2 * PER_SUBMITTER
    _assert_rate_held(arrivals, RATE)
    with session_scope(make_engine(archive_db_url)) as session:
        assert session.execute(select(RateLimitBucket.name)).scalars().all() == ["spn2"]
