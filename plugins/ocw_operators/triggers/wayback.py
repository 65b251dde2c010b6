"""Deferrable polling of SPN2 capture jobs, so results are read inside SPN2's one-hour status window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ocw_operators.clients.wayback_spn2 import PENDING, JobStatus, WaybackError, WaybackRateLimited
from ocw_operators.external_resources.store import chunked
from ocw_operators.hooks.wayback import WaybackHook
from ocw_operators.wayback.status import STATUS_CHUNK_SIZE

DEFAULT_POLL_INTERVAL_SECONDS = 30.0
# SPN2 forgets a job about an hour after the capture request; polling longer than that learns nothing.
DEFAULT_TIMEOUT_SECONDS = 50 * 60.0


class WaybackJobsTrigger(BaseTrigger):
    """Poll ``/save/status`` for ``job_ids`` until none is pending (or SPN2 forgot it) or ``timeout`` passes.

    Yields exactly one event::

        {"statuses": [JobStatus.to_dict(), ...],  # the last known status of every job SPN2 reported
         "not_reported": [job_id, ...],            # jobs SPN2 did not know (expired or never registered)
         "timed_out": bool, "polls": int, "last_error": str | None}

    Only HTTP status requests are made (no DB access, no captures), so running twice is harmless.

    :param job_ids: SPN2 job ids to watch.
    :param wayback_conn_id: Connection id of the SPN2 API (read asynchronously).
    :param poll_interval: seconds between polls.
    :param timeout: seconds after which the trigger reports what it has (``timed_out: true``).
    :param deadline: absolute epoch deadline; set on first construction and serialised, so a triggerer
        restart does not extend the wait.
    """

    def __init__(
        self,
        job_ids: Sequence[str],
        wayback_conn_id: str = WaybackHook.default_conn_name,
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        if poll_interval <= 0 or timeout <= 0:
            raise ValueError("poll_interval and timeout must be positive")
        self.job_ids = list(dict.fromkeys(job_ids))
        self.wayback_conn_id = wayback_conn_id
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout)
        self.deadline = float(deadline) if deadline is not None else time.time() + self.timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_ids": self.job_ids,
                "wayback_conn_id": self.wayback_conn_id,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        latest: dict[str, JobStatus] = {}
        not_reported: set[str] = set()
        polls = 0
        last_error: str | None = None
        hook = WaybackHook(wayback_conn_id=self.wayback_conn_id)
        # One aiohttp session for the whole wait, from the hook's session factory fed by the same Connection parsing
        # as its blocking client. Not the provider's HttpAsyncHook: it would send every extra key it does not know
        # as a header, hand aiohttp the proxies mapping where aiohttp takes one URL, and raise on a 429 (retrying
        # 5xx itself), so this loop would never see SPN2's Retry-After (see OcwHttpHook.aiohttp_session).
        async with await hook.aget_client() as client:
            while True:
                waiting = [job_id for job_id in self.job_ids if self._still_waiting(job_id, latest, not_reported)]
                if not waiting:
                    break
                pause = self.poll_interval
                try:
                    for chunk in chunked(waiting, STATUS_CHUNK_SIZE):
                        reported = {status.job_id: status for status in await client.job_statuses(chunk)}
                        latest.update(reported)
                        for job_id in chunk:
                            if job_id not in reported:  # SPN2 forgot it (or never had it): stop waiting
                                not_reported.add(job_id)
                                latest.pop(job_id, None)
                    polls += 1
                except WaybackRateLimited as error:
                    last_error = str(error)
                    pause = max(pause, error.retry_after)
                    self.log.warning("SPN2 status polling rate-limited; waiting %.0fs", pause)
                except WaybackError as error:
                    # Transient (5xx, reset, timeout): keep polling until the deadline, report it at the end.
                    last_error = str(error)
                    self.log.warning("SPN2 status poll failed: %s", error)
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    break
                if any(self._still_waiting(job_id, latest, not_reported) for job_id in self.job_ids):
                    await asyncio.sleep(min(pause, remaining))
        waiting = [job_id for job_id in self.job_ids if self._still_waiting(job_id, latest, not_reported)]
        yield TriggerEvent(
            {
                "statuses": [latest[job_id].to_dict() for job_id in self.job_ids if job_id in latest],
                "not_reported": sorted(not_reported - set(latest)),
                "timed_out": bool(waiting),
                "polls": polls,
                "last_error": last_error,
            }
        )

    @staticmethod
    def _still_waiting(job_id: str, latest: dict[str, JobStatus], not_reported: set[str]) -> bool:
        if job_id in latest:
            return latest[job_id].status == PENDING
        return job_id not in not_reported
