"""A cross-worker lock: a lease row in the archive DB with a holder and an expiry.

Works the same on SQLite (``BEGIN IMMEDIATE`` serialises the read-then-write) and PostgreSQL (``SELECT ... FOR
UPDATE`` on an existing row; a concurrent first insert loses on the primary key). A holder that dies simply
stops renewing; once ``expires_at`` passes, another holder may take the lease over.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ocw_operators.db.base import as_utc, utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models.tivoli import TivoliLease

# Prep and the nightly load both take this one lease: the load must not archive a file mid-move.
STAGING_LEASE = "tivoli:staging"


class LeaseHeldError(RuntimeError):
    """The lease is held by another holder and did not come free in time."""


def try_acquire(
    engine: Engine, name: str, holder: str, ttl: dt.timedelta, *, clock: Callable[[], dt.datetime] = utcnow
) -> bool:
    """Take or renew lease ``name`` for ``holder``; False when someone else holds an unexpired lease."""
    now = clock()
    try:
        with session_scope(engine, write_lock=True) as session:
            lease = session.execute(
                select(TivoliLease).where(TivoliLease.name == name).with_for_update()
            ).scalar_one_or_none()
            if lease is None:
                session.add(TivoliLease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
                session.flush()
                return True
            if lease.holder != holder and as_utc(lease.expires_at) > now:
                return False
            if lease.holder != holder:
                lease.acquired_at = now
            lease.holder = holder
            lease.expires_at = now + ttl
            return True
    except IntegrityError:
        return False  # another holder inserted the row first
    except OperationalError as error:
        # PostgreSQL serialisation or SQLite "database is locked" after the busy timeout: a contended lease.
        if "locked" in str(error).lower() or "could not serialize" in str(error).lower():
            return False
        raise


def renew(
    engine: Engine, name: str, holder: str, ttl: dt.timedelta, *, clock: Callable[[], dt.datetime] = utcnow
) -> None:
    """Extend a lease this holder owns; raise :class:`LeaseHeldError` if it was lost (expired and taken)."""
    if not try_acquire(engine, name, holder, ttl, clock=clock):
        raise LeaseHeldError(f"lease {name!r} was lost by {holder!r}")


def release(engine: Engine, name: str, holder: str) -> None:
    """Drop the lease if (and only if) ``holder`` still owns it."""
    with session_scope(engine) as session:
        session.execute(delete(TivoliLease).where(TivoliLease.name == name, TivoliLease.holder == holder))


def current_holder(engine: Engine, name: str) -> tuple[str, dt.datetime] | None:
    with session_scope(engine) as session:
        lease = session.get(TivoliLease, name)
        return None if lease is None else (lease.holder, as_utc(lease.expires_at))


@contextmanager
def held_lease(
    engine: Engine,
    name: str,
    holder: str,
    *,
    ttl: dt.timedelta = dt.timedelta(minutes=10),
    wait: dt.timedelta = dt.timedelta(0),
    poll_seconds: float = 2.0,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Iterator[Callable[[], None]]:
    """Hold lease ``name`` for the block; yields a ``heartbeat()`` that renews it (call it during long work).

    Waits up to ``wait`` for the lease, then raises :class:`LeaseHeldError` naming the current holder.
    """
    deadline = time.monotonic() + wait.total_seconds()
    while not try_acquire(engine, name, holder, ttl, clock=clock):
        if time.monotonic() >= deadline:
            owner = current_holder(engine, name)
            detail = f"held by {owner[0]!r} until {owner[1]:%Y-%m-%d %H:%M:%S} UTC" if owner else "contended"
            raise LeaseHeldError(f"lease {name!r} is {detail}")
        time.sleep(min(poll_seconds, max(0.0, deadline - time.monotonic())))
    renewed_at = time.monotonic()

    def heartbeat() -> None:
        nonlocal renewed_at
        # Renew at a third of the TTL: cheap enough to call per file, and never lets the lease lapse.
        if time.monotonic() - renewed_at >= ttl.total_seconds() / 3:
            renew(engine, name, holder, ttl, clock=clock)
            renewed_at = time.monotonic()

    try:
        yield heartbeat
    finally:
        release(engine, name, holder)


def airflow_run_id_of(holder: str) -> str:
    """The Airflow run id inside a task try's holder name ``<dag_id>/<run_id>/<task_id>/try-<n>`` ("" otherwise).

    A run id may itself contain slashes, so it is everything between the first and the last two parts.
    """
    parts = holder.split("/")
    if len(parts) < 4 or not parts[-1].startswith("try-"):
        return ""
    return "/".join(parts[1:-2])
