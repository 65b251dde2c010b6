"""Candidate selection: status, interval, pending window, force, site filters, explicit ids, batching."""

from __future__ import annotations

import datetime as dt

import pytest

from ocw_operators.assets import EXTERNAL_RESOURCES_CHECKED, EXTERNAL_RESOURCES_CREATED
from ocw_operators.wayback.candidates import (
    MAX_BATCHES,
    CandidateCriteria,
    make_batches,
    resource_ids_from_asset_events,
    select_candidates,
)
from tests.ocw_operators.wayback.factories import NOW, add_resource

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def test_only_valid_resources_with_a_url_are_candidates(archive_engine, caplog):
    valid = add_resource(archive_engine)
    add_resource(archive_engine, status="broken")
    add_resource(archive_engine, status="check_failed")
    unchecked = add_resource(archive_engine, status="unchecked")
    add_resource(archive_engine, url="   ")
    assert select_candidates(archive_engine, CandidateCriteria(), NOW) == [valid]
    assert "1 external resource in scope has an empty URL and will never be submitted." in caplog.text
    # Explicitly named (new) resources may be unchecked; broken ones never qualify.
    assert select_candidates(archive_engine, CandidateCriteria(resource_ids=[valid, unchecked, 999]), NOW) == [
        valid,
        unchecked,
    ]


def test_submission_interval_and_force(archive_engine):
    recent = add_resource(archive_engine, wayback_status="success", wayback_last_successful_submission=NOW - 5 * DAY)
    old = add_resource(archive_engine, wayback_status="success", wayback_last_successful_submission=NOW - 31 * DAY)
    never = add_resource(archive_engine)
    assert select_candidates(archive_engine, CandidateCriteria(), NOW) == [never, old]
    assert select_candidates(archive_engine, CandidateCriteria(interval=3 * DAY), NOW) == [never, old, recent]
    assert select_candidates(archive_engine, CandidateCriteria(force=True), NOW) == [never, old, recent]


def test_pending_jobs_inside_the_window_are_skipped_unless_forced(archive_engine):
    fresh = add_resource(archive_engine, wayback_status="pending", wayback_job_id="spn2-a", wayback_submitted_at=NOW)
    stale = add_resource(
        archive_engine, wayback_status="pending", wayback_job_id="spn2-b", wayback_submitted_at=NOW - 7 * HOUR
    )
    # The request failed before SPN2 accepted it (no job id): it may be sent again at once.
    errored = add_resource(archive_engine, wayback_status="error", wayback_submitted_at=NOW - dt.timedelta(minutes=5))
    # SPN2 ran the capture and reported an error: not again within the window.
    captured_error = add_resource(
        archive_engine, wayback_status="error", wayback_job_id="spn2-c", wayback_submitted_at=NOW - HOUR
    )
    assert select_candidates(archive_engine, CandidateCriteria(), NOW) == [stale, errored]
    assert select_candidates(archive_engine, CandidateCriteria(pending_window=8 * HOUR), NOW) == [errored]
    assert select_candidates(archive_engine, CandidateCriteria(pending_window=HOUR / 2), NOW) == [
        stale,
        errored,
        captured_error,
    ]
    assert select_candidates(archive_engine, CandidateCriteria(force=True), NOW) == [
        fresh,
        stale,
        errored,
        captured_error,
    ]


def test_force_cutoff_keeps_a_forced_retry_from_resubmitting(archive_engine):
    run_started = NOW - dt.timedelta(minutes=10)
    sent_this_run = add_resource(archive_engine, wayback_status="pending", wayback_submitted_at=NOW)
    sent_before = add_resource(
        archive_engine, wayback_status="pending", wayback_submitted_at=NOW - dt.timedelta(hours=1)
    )
    criteria = CandidateCriteria(force=True, force_cutoff=run_started)
    assert select_candidates(archive_engine, criteria, NOW) == [sent_before]
    assert sent_this_run not in select_candidates(archive_engine, criteria, NOW)


def test_site_filter_matches_name_or_short_id_and_exclude_wins(archive_engine):
    calculus = add_resource(archive_engine, site_name="18-01-calculus", site_short_id="18.01")
    physics = add_resource(archive_engine, site_name="8-01-physics", site_short_id="8.01")
    history = add_resource(archive_engine, site_name="21h-126-history", site_short_id="21H.126")
    assert select_candidates(archive_engine, CandidateCriteria(site_filter=["18.01", "8-01-physics"]), NOW) == [
        calculus,
        physics,
    ]
    assert select_candidates(archive_engine, CandidateCriteria(exclude=["8.01"]), NOW) == [calculus, history]
    assert (
        select_candidates(archive_engine, CandidateCriteria(site_filter=["8.01"], exclude=["8-01-physics"]), NOW) == []
    )


def test_order_is_never_captured_first_then_oldest_capture_and_limit_applies(archive_engine):
    older = add_resource(archive_engine, wayback_last_successful_submission=NOW - 90 * DAY)
    newer = add_resource(archive_engine, wayback_last_successful_submission=NOW - 40 * DAY)
    never = add_resource(archive_engine)
    assert select_candidates(archive_engine, CandidateCriteria(), NOW) == [never, older, newer]
    assert select_candidates(archive_engine, CandidateCriteria(limit=2), NOW) == [never, older]
    assert select_candidates(archive_engine, CandidateCriteria(resource_ids=[newer, older, never], limit=2), NOW) == [
        never,
        older,
    ]


def test_make_batches_and_its_mapping_limit():
    assert make_batches(list(range(1, 61)), 25) == [list(range(1, 26)), list(range(26, 51)), list(range(51, 61))]
    assert make_batches([], 25) == []
    with pytest.raises(ValueError, match="maps at most"):
        make_batches(list(range(MAX_BATCHES + 1)), 1)


def test_asset_events_choose_the_ids():
    created, checked = EXTERNAL_RESOURCES_CREATED.uri, EXTERNAL_RESOURCES_CHECKED.uri
    pick = lambda events: resource_ids_from_asset_events(events, created_uri=created, checked_uri=checked)  # noqa: E731
    assert pick([(created, {"resource_ids": [5, 3]}), (created, {"resource_ids": [3, 9]})]) == [3, 5, 9]
    assert pick([(created, {"resource_ids": [5]}), (checked, {})]) is None  # the weekly check widens to all
    assert pick([]) is None
    assert pick([(created, None)]) == []
    with pytest.raises(ValueError, match="not a list of integers"):
        pick([(created, {"resource_ids": ["5"]})])
    with pytest.raises(ValueError, match="not a list of integers"):
        pick([(created, {"resource_ids": [True]})])
