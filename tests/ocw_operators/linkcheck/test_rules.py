"""ocw-studio's status rules, code by code (external_resources/api.py + tasks.py)."""

from __future__ import annotations

import pytest

from ocw_operators.db.models import ResourceStatus
from ocw_operators.linkcheck.rules import (
    RESOURCE_BROKEN_STATUS_END,
    RESOURCE_BROKEN_STATUS_START,
    RESOURCE_UNCHECKED_STATUSES,
    classify_response,
)


def test_constants_match_ocw_studio():
    assert RESOURCE_BROKEN_STATUS_START == 400
    assert RESOURCE_BROKEN_STATUS_END == 600
    assert frozenset({401, 402, 403, 408, 429, 503}) == RESOURCE_UNCHECKED_STATUSES


@pytest.mark.parametrize("code", [100, 200, 204, 301, 302, 304, 399, 600, 999])
def test_below_400_and_from_600_up_is_valid(code):
    assert classify_response(code) is ResourceStatus.VALID


@pytest.mark.parametrize("code", [400, 404, 405, 410, 418, 451, 500, 501, 502, 504, 599])
def test_400_to_599_is_broken(code):
    assert classify_response(code) is ResourceStatus.BROKEN


@pytest.mark.parametrize("code", sorted(RESOURCE_UNCHECKED_STATUSES))
def test_auth_payment_timeout_rate_limit_and_unavailable_leave_the_link_unchecked(code):
    assert classify_response(code) is ResourceStatus.UNCHECKED


def test_no_status_is_valid_as_ocw_studio_records_an_empty_url():
    assert classify_response(None) is ResourceStatus.VALID


def test_counts_read_as_words():
    from ocw_operators.linkcheck.rules import describe_counts

    assert describe_counts({"valid": 93, "broken": 5, "unchecked": 2}) == "93 valid, 5 broken, 2 unchecked"
    assert describe_counts({"check_failed": 1, "valid": 1}) == "1 valid, 0 broken, 0 unchecked, 1 could not be checked"
    assert "ResourceStatus" not in describe_counts({"valid": 1})
