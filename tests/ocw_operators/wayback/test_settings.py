"""Parsing of the Wayback Variables."""

from __future__ import annotations

import datetime as dt

import pytest

from ocw_operators.operators.wayback import parse_wayback_settings
from ocw_operators.params import parse_flag as parse_bool


def test_defaults_match_ocw_studio():
    settings = parse_wayback_settings({})
    assert settings.enabled is False
    assert settings.submission_interval == dt.timedelta(days=30)
    assert settings.rate_per_second == 0.11
    assert settings.pending_expiry == dt.timedelta(hours=6)


def test_values_override_defaults_and_none_means_unset():
    settings = parse_wayback_settings(
        {
            "ENABLE_WAYBACK_TASKS": "True",
            "WAYBACK_SUBMISSION_INTERVAL_DAYS": "7",
            "WAYBACK_RATE_LIMIT_PER_SECOND": None,
            "WAYBACK_PENDING_EXPIRY_HOURS": "1.5",
        }
    )
    assert settings.enabled is True
    assert settings.submission_interval == dt.timedelta(days=7)
    assert settings.rate_per_second == 0.11
    assert settings.pending_expiry == dt.timedelta(minutes=90)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"ENABLE_WAYBACK_TASKS": "maybe"}, "ENABLE_WAYBACK_TASKS must be true or false"),
        ({"WAYBACK_RATE_LIMIT_PER_SECOND": "0"}, "greater than 0"),
        ({"WAYBACK_RATE_LIMIT_PER_SECOND": "inf"}, "greater than 0"),
        ({"WAYBACK_SUBMISSION_INTERVAL_DAYS": "thirty"}, "must be a number"),
        ({"WAYBACK_PENDING_EXPIRY_HOURS": "-1"}, "greater than 0"),
    ],
)
def test_bad_values_are_refused_clearly(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_wayback_settings(raw)


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("on", True), ("1", True), ("OFF", False), ("", False)])
def test_parse_bool(value, expected):
    assert parse_bool(value, "x") is expected
