"""Parsing of Param, operator-argument and Variable values, which arrive as native values or as rendered text.

The one parser of flags, lists, ids, numbers and dates for every operator. Plain functions with no Airflow
imports; each raises :class:`InvalidValueError` naming the setting, and the operators turn that into a task
failure without retries (:func:`ocw_operators.settings.fail_on_bad_input`): bad input does not improve on retry.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

_TRUE = {"true", "1", "yes", "y", "t", "on"}
_FALSE = {"false", "0", "no", "n", "f", "off", "", "none"}
_COMMAS_AND_LINES = re.compile(r"[,\n]")
_COMMAS_AND_WHITESPACE = re.compile(r"[,\s]")


class InvalidValueError(ValueError):
    """A Param, operator argument or Variable value that cannot be used; the message names it."""


def _shown(value: Any, limit: int = 40) -> str:
    return repr(str(value)[:limit])


def is_empty(value: Any) -> bool:
    """None, blank text, or the text "None" (what a template renders for an unset Param)."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


def parse_flag(value: Any, name: str) -> bool:
    """``True``/``False`` from a bool or an unambiguous spelling ("true", "0", "off", ...); None is false."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValueError(f"{name} must be true or false, got {_shown(value)}")


def _sequence(value: Any, name: str, separators: re.Pattern[str]) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith("["):
        return [part for part in separators.split(text) if part.strip()]
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidValueError(f"{name} is not a valid JSON list: {error}") from None


def parse_names(value: Any, name: str, *, split_on_spaces: bool = False) -> list[str]:
    """A list of names from a list, a JSON list, or text with one name per line or comma-separated (also
    space-separated with ``split_on_spaces``, for names that cannot hold a space); blanks dropped, empty for
    None/""."""
    if value is None or value == "":
        return []
    value = _sequence(value, name, _COMMAS_AND_WHITESPACE if split_on_spaces else _COMMAS_AND_LINES)
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise InvalidValueError(f"{name} must be a list of strings, got {str(value)[:100]!r}")
    return [item.strip() for item in value if item.strip()]


def parse_ids(value: Any, name: str) -> list[int]:
    """A list of integer ids from a list, a JSON list, or comma-separated text (booleans refused)."""
    if value is None or value == "":
        return []
    value = _sequence(value, name, _COMMAS_AND_LINES)
    refused = InvalidValueError(f"{name} must be a list of integers, got {str(value)[:100]!r}")
    if not isinstance(value, (list, tuple)):
        raise refused
    ids = []
    for item in value:
        # bool is an int, and int() would cut 1.5 to 1: neither is an id someone meant.
        if isinstance(item, bool) or (isinstance(item, float) and not item.is_integer()):
            raise refused
        try:
            ids.append(int(item))
        except (TypeError, ValueError):
            raise refused from None
    return ids


def bounds_text(minimum: float | None, maximum: float | None, *, exclusive_minimum: bool = False) -> str:
    """``at least 1``, ``greater than 0 and at most 100``, ...: the bounds as an error message states them."""
    parts = []
    if minimum is not None:
        parts.append(f"{'greater than' if exclusive_minimum else 'at least'} {minimum:g}")
    if maximum is not None:
        parts.append(f"at most {maximum:g}")
    return " and ".join(parts)


def parse_number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    integer: bool = False,
) -> float | int:
    """A finite number (an ``int`` with ``integer``, where "4.0" is 4 and 4.5 is refused) within the bounds."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool):
        raise InvalidValueError(f"{name} must be {kind}, got {_shown(value)}")
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidValueError(f"{name} must be {kind}, got {_shown(value)}") from None
    if integer and math.isfinite(number) and not number.is_integer():
        raise InvalidValueError(f"{name} must be {kind}, got {_shown(value)}")
    too_low = minimum is not None and (number <= minimum if exclusive_minimum else number < minimum)
    too_high = maximum is not None and number > maximum
    if not math.isfinite(number) or too_low or too_high:
        bounds = bounds_text(minimum, maximum, exclusive_minimum=exclusive_minimum) or "finite"
        raise InvalidValueError(f"{name} must be {bounds}, got {number!r}")
    return int(number) if integer else number


def parse_moment(value: Any, name: str, *, end_of_day: bool = False) -> dt.datetime | None:
    """An optional ISO-8601 date or date-time (naive means UTC); None, "" and "None" mean not set.

    With ``end_of_day`` a bare date means its last second, so an inclusive ``until`` of "2026-03-31" covers
    the whole of March 31.
    """
    if is_empty(value):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValueError(f"{name} {value!r} is not an ISO-8601 date or date-time") from None
    if end_of_day and isinstance(value, str) and len(value.strip()) == 10:
        moment += dt.timedelta(days=1, seconds=-1)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
