"""Submit a batch of external resources to SPN2 under the global rate limit, recording each outcome at once.

For every resource: claim it (an UPDATE that succeeds only while it is still eligible: this is what makes a
retry, rerun or concurrent run skip it), wait for a rate-limit slot, send ``POST /save``, and record the
outcome in its own short transaction. Only Wayback columns are written, so the link checker's concurrent
writes to the same rows are never lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from ocw_operators.clients.wayback_spn2 import (
    CaptureSubmission,
    WaybackBadResponse,
    WaybackCaptureRefused,
    WaybackConnectTimeout,
    WaybackCredentialsInUrl,
    WaybackError,
    WaybackHttpError,
    WaybackRateLimited,
)
from ocw_operators.db.base import as_utc, utcnow
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource, WaybackStatus
from ocw_operators.http_support import has_userinfo, redact_userinfo
from ocw_operators.ratelimit import RateLimitWaitTooLong
from ocw_operators.text import plural
from ocw_operators.wayback.candidates import CandidateCriteria, eligibility_clause

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_STATUS_EXT = "error:connect-timeout"  # ocw-studio's own value, kept for continuity
RATE_LIMITED_STATUS_EXT = "error:rate-limited"
BAD_RESPONSE_STATUS_EXT = "error:bad-response"
REQUEST_FAILED_STATUS_EXT = "error:request-failed"
CREDENTIALS_IN_URL_STATUS_EXT = "error:credentials-in-url"
UNEXPECTED_STATUS_EXT = "error:unexpected"
DEFAULT_MAX_ATTEMPTS_PER_URL = 3
MAX_REPORTED_ERRORS = 20


class CaptureClient(Protocol):
    def submit_capture(self, url: str) -> CaptureSubmission: ...


class RateLimiter(Protocol):
    def acquire(self) -> Any: ...

    def penalize(self, seconds: float) -> Any: ...


@dataclass
class SubmissionSummary:
    """What one batch did (JSON-serialisable through :meth:`to_dict`)."""

    requested: int = 0
    submitted: int = 0  # SPN2 gave a job id
    refused: int = 0  # SPN2 answered 200 without a job id (status_ext recorded)
    failed: int = 0  # no answer, HTTP error, rate limit exhausted: recorded as error, worth a task retry
    skipped: int = 0  # no longer eligible (another attempt or run already sent it, or captured recently)
    not_attempted: int = 0  # left untouched because the rate limit asked for a longer wait than allowed
    empty_url: int = 0
    rate_limited: int = 0  # 429 answers seen (each one penalised the shared bucket)
    job_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One sentence for the task log, every number named."""
        parts = [f"{self.submitted} accepted with a capture job"]
        for count, what in (
            (self.refused, "refused by SPN2"),
            (self.failed, "failed (recorded as errors; a retry resends them)"),
            (self.skipped, "skipped (already sent, or captured within the submission interval)"),
            (self.empty_url, "skipped for an empty URL"),
            (self.not_attempted, "left for a retry (the rate limit asked for too long a wait)"),
        ):
            if count:
                parts.append(f"{count} {what}")
        sentence = f"Wayback Machine submission of {plural(self.requested, 'resource')}: {', '.join(parts)}."
        if self.rate_limited:
            sentence += f" SPN2 answered {plural(self.rate_limited, 'request')} with 429 Too Many Requests."
        return sentence

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionSummary:
        return cls(**data)

    def note_error(self, resource_id: int, message: str) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(f"resource {resource_id}: {message[:300]}")


def submit_batch(
    engine: Engine,
    client: CaptureClient,
    limiter: RateLimiter,
    resource_ids: Sequence[int],
    criteria: CandidateCriteria,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    max_attempts_per_url: int = DEFAULT_MAX_ATTEMPTS_PER_URL,
    run_id: str = "",
) -> SubmissionSummary:
    """Submit ``resource_ids`` (each at most once) and return the counts; never raises for a single URL."""
    summary = SubmissionSummary(requested=len(resource_ids))
    unique_ids = list(dict.fromkeys(resource_ids))  # keeps order, drops duplicates
    for position, resource_id in enumerate(unique_ids):
        current_url = _url_of(engine, resource_id)
        if current_url is not None and not current_url.strip():
            log.warning("Resource %s has an empty URL; not submitted.", resource_id)
            summary.empty_url += 1
            continue
        url = claim_resource(engine, resource_id, criteria, as_utc(clock()), run_id)
        if url is None:
            summary.skipped += 1
            continue
        try:
            _submit_one(
                engine,
                client=client,
                limiter=limiter,
                resource_id=resource_id,
                url=url.strip(),
                summary=summary,
                max_attempts=max_attempts_per_url,
            )
        except RateLimitWaitTooLong as error:
            # Stop here: the rest stay unclaimed, so the task's retry (after the wait) picks them up.
            _fail(engine, resource_id, summary, RATE_LIMITED_STATUS_EXT, str(error))
            summary.not_attempted = len(unique_ids) - position - 1
            break
    log.info("%s", summary.describe())
    return summary


def claim_resource(
    engine: Engine, resource_id: int, criteria: CandidateCriteria, now: dt.datetime, run_id: str = ""
) -> str | None:
    """Mark the resource ``pending`` (no job id yet, submitted now, by Airflow run ``run_id``) if it is still
    eligible; return its URL.

    A single conditional UPDATE, so two attempts racing for one resource cannot both win.
    """
    with session_scope(engine, write_lock=True) as session:
        return session.execute(
            update(ExternalResource)
            .where(ExternalResource.id == resource_id, eligibility_clause(criteria, now))
            .values(
                wayback_status=WaybackStatus.PENDING.value,
                wayback_job_id="",
                wayback_status_ext="",
                wayback_http_status=None,
                wayback_submitted_at=now,
                wayback_submit_run=run_id,
            )
            .returning(ExternalResource.url)
        ).scalar_one_or_none()


def _url_of(engine: Engine, resource_id: int) -> str | None:
    with session_scope(engine) as session:
        return session.execute(
            select(ExternalResource.url).where(ExternalResource.id == resource_id)
        ).scalar_one_or_none()


def _submit_one(
    engine: Engine,
    *,
    client: CaptureClient,
    limiter: RateLimiter,
    resource_id: int,
    url: str,
    summary: SubmissionSummary,
    max_attempts: int,
) -> None:
    if has_userinfo(url):  # checked before the rate limit: nothing is sent (SPN2 clients refuse it too)
        _refuse_credentials(engine, resource_id, summary, WaybackCredentialsInUrl(url))
        return
    for attempt in range(1, max_attempts + 1):
        limiter.acquire()
        try:
            submission = client.submit_capture(url)
        except WaybackRateLimited as error:
            summary.rate_limited += 1
            limiter.penalize(error.retry_after)
            log.warning(
                "SPN2 answered 429 Too Many Requests for resource %s (attempt %d of %d); slowing down for everyone.",
                resource_id,
                attempt,
                max_attempts,
            )
            if attempt == max_attempts:
                _fail(engine, resource_id, summary, RATE_LIMITED_STATUS_EXT, str(error))
            continue
        except WaybackCaptureRefused as error:
            summary.refused += 1
            log.error(
                "SPN2 refused to capture resource %s (%s): %s.", resource_id, url, error.status_ext or error.message
            )
            _record(engine, resource_id, status=WaybackStatus.ERROR, status_ext=error.status_ext or "error:no-job-id")
        except WaybackConnectTimeout as error:
            _fail(engine, resource_id, summary, CONNECT_TIMEOUT_STATUS_EXT, str(error))
        except WaybackHttpError as error:
            _fail(engine, resource_id, summary, f"error:http-{error.status}", str(error))
        except WaybackBadResponse as error:
            _fail(engine, resource_id, summary, BAD_RESPONSE_STATUS_EXT, str(error))
        except (WaybackError, ValueError) as error:
            _fail(engine, resource_id, summary, REQUEST_FAILED_STATUS_EXT, str(error))
        except Exception:
            # A bug or a database failure: leave an honest trace on the row, then let the task fail.
            _record(engine, resource_id, status=WaybackStatus.ERROR, status_ext=UNEXPECTED_STATUS_EXT)
            raise
        else:
            summary.submitted += 1
            summary.job_ids.append(submission.job_id)
            _record(engine, resource_id, status=WaybackStatus.PENDING, status_ext="", job_id=submission.job_id)
        return


def _refuse_credentials(
    engine: Engine, resource_id: int, summary: SubmissionSummary, error: WaybackCredentialsInUrl
) -> None:
    """A URL with ``user:password@`` in it is refused, not stripped and captured.

    Sending it would hand the password to SPN2 and put it in the public capture and its ``wayback_url``.
    Stripping it would capture something other than what the link shows (a login page or a 401, typically) and
    present that as the resource's snapshot. Refusing spends nothing from the SPN2 rate limit and leaves
    ``error:credentials-in-url`` on the resource's row, where a curator sees that the course links to a URL with
    a password in it; once the link is fixed, the resource is submitted as usual. A ``wayback_url`` recorded for
    it before is cleared if it carries the credentials too.
    """
    summary.refused += 1
    summary.note_error(resource_id, str(error))
    log.error("Resource %s not submitted: %s (%s)", resource_id, error, CREDENTIALS_IN_URL_STATUS_EXT)
    _record(engine, resource_id, status=WaybackStatus.ERROR, status_ext=CREDENTIALS_IN_URL_STATUS_EXT)
    with session_scope(engine) as session:
        stored = session.execute(
            select(ExternalResource.wayback_url).where(ExternalResource.id == resource_id)
        ).scalar_one_or_none()
        if stored and redact_userinfo(stored) != stored:
            session.execute(update(ExternalResource).where(ExternalResource.id == resource_id).values(wayback_url=""))


def _fail(engine: Engine, resource_id: int, summary: SubmissionSummary, status_ext: str, message: str) -> None:
    summary.failed += 1
    summary.note_error(resource_id, message)
    log.error("Wayback Machine submission of resource %s failed (%s): %s.", resource_id, status_ext, message)
    _record(engine, resource_id, status=WaybackStatus.ERROR, status_ext=status_ext)


def _record(engine: Engine, resource_id: int, *, status: WaybackStatus, status_ext: str, job_id: str = "") -> None:
    values: dict[str, Any] = {
        "wayback_status": status.value,
        "wayback_status_ext": status_ext[:128],
        "wayback_job_id": job_id,
        "wayback_http_status": None,
    }
    with session_scope(engine) as session:
        session.execute(update(ExternalResource).where(ExternalResource.id == resource_id).values(**values))
