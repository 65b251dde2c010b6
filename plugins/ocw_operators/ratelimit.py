"""A request-rate limit shared by every run, task, worker and process: its state is one row in the archive DB.

Each caller reserves the next free slot in a short write-locked transaction::

    slot = max(now, next_slot_at); next_slot_at = slot + 1 / rate

commits, and only THEN sleeps until its slot, so the lock is held for milliseconds however long the queue
is. Two callers can never get the same slot, so the requests leave at most ``rate`` per second in total.
``penalize(seconds)`` (a 429's Retry-After) pushes the bucket forward for every caller at once.

Slots are epoch seconds from the local clock, so workers on different hosts need NTP-synchronised clocks
(an offset of a few hundred milliseconds only shifts slots; it cannot make two callers share one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import RateLimitBucket

log = logging.getLogger(__name__)

DEFAULT_RATE_PER_SECOND = 0.11  # ocw-studio's WAYBACK_MACHINE_TASK_RATE_LIMIT "0.11/s": one request per ~9 s


class RateLimitWaitTooLong(RuntimeError):
    """The next free slot is further away than the caller is willing to wait."""


@dataclass(frozen=True)
class Reservation:
    slot_at: float  # epoch seconds at which the caller may send
    waited: float  # seconds actually slept


class DbRateLimiter:
    """Global rate limiter backed by the ``rate_limit_bucket`` row called ``name``.

    :param engine: archive DB engine (SQLite or PostgreSQL).
    :param name: bucket name; every limiter with the same name shares one limit.
    :param rate_per_second: allowed requests per second across all callers (> 0).
    :param clock: epoch-seconds clock (injectable for tests).
    :param sleep: sleep function (injectable for tests).
    :param max_wait_seconds: refuse (``RateLimitWaitTooLong``) rather than sleep longer than this; the slot
        is then not taken, so nobody else is delayed by the refusal.
    """

    def __init__(
        self,
        engine: Engine,
        name: str,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float | None = None,
    ) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be positive, got {rate_per_second!r}")
        if not name or len(name) > 64:
            raise ValueError("bucket name must be 1-64 characters")
        self.engine = engine
        self.name = name
        self.rate_per_second = float(rate_per_second)
        self.interval = 1.0 / self.rate_per_second
        self._clock = clock
        self._sleep = sleep
        self.max_wait_seconds = max_wait_seconds
        self._bucket_exists = False

    def acquire(self) -> Reservation:
        """Reserve the next slot, then sleep (outside any transaction) until it arrives."""
        slot_at = self.reserve()
        delay = slot_at - self._clock()
        waited = 0.0
        if delay > 0:
            self._sleep(delay)
            waited = delay
        return Reservation(slot_at=slot_at, waited=waited)

    def reserve(self) -> float:
        """Atomically take the next slot and return it (epoch seconds); does not sleep."""
        self._ensure_bucket()
        with session_scope(self.engine, write_lock=True) as session:
            bucket = self._locked_bucket(session)
            now = self._clock()
            slot_at = max(now, bucket.next_slot_at)
            if self.max_wait_seconds is not None and slot_at - now > self.max_wait_seconds:
                raise RateLimitWaitTooLong(
                    f"rate limit {self.name!r}: next slot is {slot_at - now:.0f}s away "
                    f"(more than {self.max_wait_seconds:.0f}s)"
                )
            bucket.next_slot_at = slot_at + self.interval
        return slot_at

    def penalize(self, seconds: float) -> float:
        """Hold every caller back until at least ``seconds`` from now (e.g. a 429's Retry-After)."""
        seconds = max(0.0, float(seconds))
        self._ensure_bucket()
        with session_scope(self.engine, write_lock=True) as session:
            bucket = self._locked_bucket(session)
            bucket.next_slot_at = max(bucket.next_slot_at, self._clock() + seconds)
            next_slot_at = bucket.next_slot_at
        log.warning("Rate limit %r pushed back %.1fs by the server", self.name, seconds)
        return next_slot_at

    def _locked_bucket(self, session) -> RateLimitBucket:
        # FOR UPDATE serialises concurrent reservations on PostgreSQL; SQLite ignores it and relies on the
        # BEGIN IMMEDIATE that session_scope(write_lock=True) issued.
        return session.execute(
            select(RateLimitBucket).where(RateLimitBucket.name == self.name).with_for_update()
        ).scalar_one()

    def _ensure_bucket(self) -> None:
        if self._bucket_exists:
            return
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(RateLimitBucket)
            .values(name=self.name, next_slot_at=0.0)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        with session_scope(self.engine) as session:
            session.execute(statement)
        self._bucket_exists = True
