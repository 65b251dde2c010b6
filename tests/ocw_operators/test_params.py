"""The one parser of Params, operator arguments and Variable text: flags, name and id lists, numbers, dates."""

from __future__ import annotations

import datetime as dt

import pytest

from ocw_operators.params import (
    InvalidValueError,
    is_empty,
    parse_flag,
    parse_ids,
    parse_moment,
    parse_names,
    parse_number,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("True", True), (" on ", True), (1, True), (False, False), ("False", False), (None, False),
     ("", False), ("None", False), (0, False)],
)  # fmt: skip
def test_flags_as_templates_render_them(value, expected):
    assert parse_flag(value, "commit") is expected


def test_an_ambiguous_flag_is_refused_by_name():
    with pytest.raises(InvalidValueError, match="dry_run must be true or false, got 'maybe'"):
        parse_flag("maybe", "dry_run")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ("", []), ("a, b,,c", ["a", "b", "c"]), ("a\nb", ["a", "b"]), ('["a b"]', ["a b"]),
     ("my file.tif", ["my file.tif"]), (["a ", " ", "b"], ["a", "b"]), ((), [])],
)  # fmt: skip
def test_names_one_per_line_or_comma_separated(value, expected):
    assert parse_names(value, "site_names") == expected


def test_names_that_cannot_hold_a_space_may_be_space_separated():
    assert parse_names("a/b c/d,e/f", "course_ids", split_on_spaces=True) == ["a/b", "c/d", "e/f"]


@pytest.mark.parametrize(
    ("value", "message"),
    [([1], "site_names must be a list of strings"), ('[{"a": 1}]', "site_names must be a list of strings"),
     ("[not json", "site_names is not a valid JSON list")],
)  # fmt: skip
def test_bad_name_lists_are_refused_by_name(value, message):
    with pytest.raises(InvalidValueError, match=message):
        parse_names(value, "site_names")


def test_ids():
    assert parse_ids("[1, 2]", "resource_ids") == [1, 2]
    assert parse_ids("3, 4,", "resource_ids") == [3, 4]
    assert parse_ids(None, "resource_ids") == []
    for bad in ([True], ["x"], "[1.5]", "a"):
        with pytest.raises(InvalidValueError, match="resource_ids must be a list of integers"):
            parse_ids(bad, "resource_ids")


def test_numbers_and_their_bounds():
    assert parse_number("14", "days", minimum=1, integer=True) == 14
    assert parse_number(" 0.5 ", "rate", minimum=0, exclusive_minimum=True) == 0.5
    cases = [
        ("0", {"minimum": 0, "exclusive_minimum": True, "maximum": 10}, "rate must be greater than 0 and at most 10"),
        ("11", {"maximum": 10}, "rate must be at most 10, got 11.0"),
        ("inf", {}, "rate must be finite, got inf"),
        ("1.5", {"integer": True}, "rate must be a whole number, got '1.5'"),
        (True, {}, "rate must be a number"),
        ("", {}, "rate must be a number"),
    ]
    for value, bounds, message in cases:
        with pytest.raises(InvalidValueError, match=message):
            parse_number(value, "rate", **bounds)


def test_moments():
    assert parse_moment("None", "harvest_from") is None and is_empty(" ") and not is_empty(0)
    assert parse_moment("2026-03-01", "harvest_from") == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert parse_moment("2026-03-31", "harvest_until", end_of_day=True) == dt.datetime(
        2026, 3, 31, 23, 59, 59, tzinfo=dt.UTC
    )
    with pytest.raises(InvalidValueError, match="harvest_from 'last tuesday' is not an ISO-8601"):
        parse_moment("last tuesday", "harvest_from")
