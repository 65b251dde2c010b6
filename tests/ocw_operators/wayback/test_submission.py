"""Batch submission: outcomes recorded per resource, 429 handling, idempotent reruns, link-check writes kept."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import update

from ocw_operators.clients.wayback_spn2 import (
    CaptureSubmission,
    WaybackCaptureRefused,
    WaybackConnectTimeout,
    WaybackHttpError,
    WaybackRateLimited,
)
from ocw_operators.db import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.hooks.wayback import WaybackHook
from ocw_operators.ratelimit import DbRateLimiter
from ocw_operators.wayback.candidates import CandidateCriteria
from ocw_operators.wayback.submission import SubmissionSummary, submit_batch
from tests.ocw_operators.wayback.factories import NOW, add_resource, aware, get_resource

ALL = CandidateCriteria()


class FakeLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.penalties: list[float] = []

    def acquire(self) -> None:
        self.acquired += 1

    def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)


class ScriptedClient:
    """Answers each URL from a script: a job id, or an exception to raise (one entry per attempt)."""

    def __init__(self, script: dict[str, list] | None = None) -> None:
        self.script = script or {}
        self.sent: list[str] = []

    def submit_capture(self, url: str) -> CaptureSubmission:
        self.sent.append(url)
        answers = self.script.get(url)
        answer = answers.pop(0) if answers else f"spn2-{len(self.sent):040x}"
        if isinstance(answer, BaseException):
            raise answer
        return CaptureSubmission(url=url, job_id=answer)


def _clock():
    return NOW


def test_job_id_makes_the_resource_pending_and_clears_old_results(archive_engine):
    resource = add_resource(
        archive_engine, wayback_status="error", wayback_status_ext="error:not-found", wayback_http_status=404
    )
    client, limiter = ScriptedClient(), FakeLimiter()
    summary = submit_batch(archive_engine, client, limiter, [resource], ALL, clock=_clock)

    state = get_resource(archive_engine, resource)
    assert (state.wayback_status, state.wayback_status_ext, state.wayback_http_status) == ("pending", "", None)
    assert state.wayback_job_id == f"spn2-{1:040x}"
    assert aware(state.wayback_submitted_at) == NOW
    assert summary.submitted == 1
    assert summary.job_ids == [state.wayback_job_id]
    assert limiter.acquired == 1


def test_no_job_id_is_an_error_with_status_ext(archive_engine):
    resource = add_resource(archive_engine, url="https://example.org/capped")
    client = ScriptedClient(
        {"https://example.org/capped": [WaybackCaptureRefused("u", "error:too-many-daily-captures", "10 times")]}
    )
    summary = submit_batch(archive_engine, client, FakeLimiter(), [resource], ALL, clock=_clock)
    state = get_resource(archive_engine, resource)
    assert (state.wayback_status, state.wayback_status_ext, state.wayback_job_id) == (
        "error",
        "error:too-many-daily-captures",
        "",
    )
    assert (summary.refused, summary.failed) == (1, 0)


@pytest.mark.parametrize(
    ("error", "status_ext"),
    [
        (WaybackConnectTimeout("connect timed out"), "error:connect-timeout"),
        (WaybackHttpError(503, "maintenance"), "error:http-503"),
    ],
)
def test_failures_are_recorded_and_counted(archive_engine, error, status_ext):
    resource = add_resource(archive_engine, url="https://example.org/x")
    client = ScriptedClient({"https://example.org/x": [error]})
    summary = submit_batch(archive_engine, client, FakeLimiter(), [resource], ALL, clock=_clock)
    state = get_resource(archive_engine, resource)
    assert (state.wayback_status, state.wayback_status_ext) == ("error", status_ext)
    assert summary.failed == 1
    assert summary.errors and f"resource {resource}" in summary.errors[0]


def test_429_penalizes_the_shared_bucket_and_retries_the_same_url(archive_engine):
    resource = add_resource(archive_engine, url="https://example.org/busy")
    client = ScriptedClient({"https://example.org/busy": [WaybackRateLimited(42.0), "spn2-second-try"]})
    limiter = FakeLimiter()
    summary = submit_batch(archive_engine, client, limiter, [resource], ALL, clock=_clock)
    assert limiter.penalties == [42.0]
    assert limiter.acquired == 2  # the retry waited for a slot too
    assert client.sent == ["https://example.org/busy"] * 2
    assert get_resource(archive_engine, resource).wayback_job_id == "spn2-second-try"
    assert (summary.rate_limited, summary.submitted, summary.failed) == (1, 1, 0)


def test_429_retries_are_bounded(archive_engine):
    resource = add_resource(archive_engine, url="https://example.org/busy")
    client = ScriptedClient({"https://example.org/busy": [WaybackRateLimited(1.0) for _ in range(5)]})
    limiter = FakeLimiter()
    summary = submit_batch(archive_engine, client, limiter, [resource], ALL, clock=_clock, max_attempts_per_url=3)
    assert len(client.sent) == 3
    assert limiter.penalties == [1.0, 1.0, 1.0]
    assert get_resource(archive_engine, resource).wayback_status_ext == "error:rate-limited"
    assert (summary.rate_limited, summary.failed) == (3, 1)


def test_empty_url_is_skipped_with_a_warning(archive_engine, caplog):
    resource = add_resource(archive_engine, url="", status="unchecked")
    client = ScriptedClient()
    summary = submit_batch(
        archive_engine, client, FakeLimiter(), [resource], CandidateCriteria(resource_ids=[resource]), clock=_clock
    )
    assert client.sent == []
    assert summary.empty_url == 1
    assert "empty URL" in caplog.text
    assert get_resource(archive_engine, resource).wayback_status == ""


def test_a_rerun_or_retry_never_resubmits(archive_engine):
    first, second = add_resource(archive_engine), add_resource(archive_engine)
    client = ScriptedClient()
    submit_batch(archive_engine, client, FakeLimiter(), [first, second, first], ALL, clock=_clock)
    assert len(client.sent) == 2  # the duplicate id in the batch is sent once
    rerun = submit_batch(archive_engine, client, FakeLimiter(), [first, second], ALL, clock=_clock)
    assert len(client.sent) == 2
    assert rerun.skipped == 2


def test_forced_retry_within_the_same_run_does_not_resubmit(archive_engine):
    resource = add_resource(archive_engine, wayback_status="success", wayback_last_successful_submission=NOW)
    client = ScriptedClient()
    forced = CandidateCriteria(force=True, force_cutoff=NOW - dt.timedelta(minutes=1))
    assert submit_batch(archive_engine, client, FakeLimiter(), [resource], forced, clock=_clock).submitted == 1
    assert submit_batch(archive_engine, client, FakeLimiter(), [resource], forced, clock=_clock).skipped == 1
    assert len(client.sent) == 1


def test_concurrent_link_check_writes_survive_the_submission(archive_engine):
    """The link checker updates the same row while the capture request is in flight; nothing of it is lost."""
    resource = add_resource(archive_engine, url="https://example.org/checked-meanwhile")
    checked_at = NOW + dt.timedelta(seconds=1)

    class CheckerInTheMiddle(ScriptedClient):
        def submit_capture(self, url):
            with session_scope(archive_engine) as session:
                session.execute(
                    update(ExternalResource)
                    .where(ExternalResource.id == resource)
                    .values(external_url_response_code=200, last_checked=checked_at, title="Renamed")
                )
            return super().submit_capture(url)

    submit_batch(archive_engine, CheckerInTheMiddle(), FakeLimiter(), [resource], ALL, clock=_clock)
    state = get_resource(archive_engine, resource)
    assert (state.external_url_response_code, aware(state.last_checked), state.title) == (200, checked_at, "Renamed")
    assert state.wayback_status == "pending"


def test_an_unexpected_error_is_recorded_and_raised(archive_engine):
    resource = add_resource(archive_engine, url="https://example.org/bug")
    client = ScriptedClient({"https://example.org/bug": [KeyError("bug")]})
    with pytest.raises(KeyError):
        submit_batch(archive_engine, client, FakeLimiter(), [resource], ALL, clock=_clock)
    assert get_resource(archive_engine, resource).wayback_status_ext == "error:unexpected"


def test_summary_round_trips_through_a_dict():
    summary = SubmissionSummary(requested=2, submitted=1, failed=1, job_ids=["spn2-a"], errors=["resource 1: x"])
    assert SubmissionSummary.from_dict(summary.to_dict()) == summary


def test_against_the_sandbox_with_the_shared_limiter(archive_engine, wayback_conn):
    ok = add_resource(archive_engine, url="https://example.org/fine")
    capped = add_resource(archive_engine, url="https://example.org/daily-cap/page")
    limiter = DbRateLimiter(archive_engine, "wayback_spn2", 50.0)
    hook = WaybackHook()
    summary = submit_batch(archive_engine, hook, limiter, [ok, capped], ALL)
    hook.close()
    assert (summary.submitted, summary.refused) == (1, 1)
    assert get_resource(archive_engine, ok).wayback_job_id == wayback_conn.save_requests()[0]["job_id"]
    assert get_resource(archive_engine, capped).wayback_status_ext == "error:too-many-daily-captures"


def test_credentials_in_a_url_are_never_sent_to_spn2_nor_stored(archive_engine, wayback_conn, caplog):
    caplog.set_level(logging.DEBUG)
    secret_urls = [
        "https://archivist:s3cr3t-pw@example.org/private/notes.pdf",
        "http://gh-token-9f8e7d@example.org/repo",
    ]
    fine = add_resource(archive_engine, url="https://example.org/public")
    with_password = add_resource(
        archive_engine,
        url=secret_urls[0],
        # Captured (before this rule) long enough ago to be due again; its playback URL carries the password.
        wayback_status="success",
        wayback_url="https://web.archive.org/web/20250101000000/https://archivist:s3cr3t-pw@example.org/private/",
        wayback_last_successful_submission=dt.datetime.now(dt.UTC) - dt.timedelta(days=60),
    )
    with_token = add_resource(archive_engine, url=secret_urls[1], status="unchecked")
    limiter = DbRateLimiter(archive_engine, "wayback_spn2", 50.0)
    hook = WaybackHook()
    summary = submit_batch(
        archive_engine,
        hook,
        limiter,
        [fine, with_password, with_token],
        CandidateCriteria(resource_ids=[fine, with_password, with_token]),
    )
    hook.close()

    sent = wayback_conn.save_requests()
    assert [request["url"] for request in sent] == ["https://example.org/public"]
    assert (summary.submitted, summary.refused, summary.failed) == (1, 2, 0)
    for resource in (with_password, with_token):
        row = get_resource(archive_engine, resource)
        assert (row.wayback_status, row.wayback_status_ext) == ("error", "error:credentials-in-url")
        assert (row.wayback_job_id, row.wayback_url) == ("", "")
    text = caplog.text + repr(summary.to_dict())
    assert "s3cr3t-pw" not in text and "archivist" not in text and "gh-token-9f8e7d" not in text
    assert "example.org/private/notes.pdf is linked with credentials" in caplog.text
    # A rerun refuses them again without sending anything.
    rerun_hook = WaybackHook()
    rerun = submit_batch(
        archive_engine, rerun_hook, limiter, [with_token], CandidateCriteria(resource_ids=[with_token])
    )
    rerun_hook.close()
    assert rerun.refused == 1 and len(wayback_conn.save_requests()) == 1


@pytest.mark.parametrize("url", ["https://user:pw-secret@example.org/", "http://user@example.org/x"])
def test_the_spn2_clients_refuse_a_url_with_credentials(wayback_sandbox, url):
    import asyncio

    import aiohttp
    import requests

    from ocw_operators.clients.wayback_spn2 import Spn2Client, Spn2Settings, WaybackCredentialsInUrl
    from ocw_operators.clients.wayback_spn2_async import AsyncSpn2Client

    settings = Spn2Settings(wayback_sandbox.base_url, wayback_sandbox.access_key, wayback_sandbox.secret, timeout=5)
    with Spn2Client(settings, requests.Session()) as client, pytest.raises(WaybackCredentialsInUrl) as refused:
        client.submit_capture(url)
    message = str(refused.value)
    assert "pw-secret" not in message and "user:" not in message and "user@" not in message
    assert "//example.org/" in message and "is linked with credentials" in message

    async def submit_async() -> None:
        async with AsyncSpn2Client(settings, aiohttp.ClientSession()) as client:
            await client.submit_capture(url)

    with pytest.raises(WaybackCredentialsInUrl):
        asyncio.run(submit_async())
    assert wayback_sandbox.save_requests() == []
