"""Run-time tunables of the Wayback tasks, parsed from Airflow Variables (read by the operators in execute())."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from ocw_operators.params import parse_flag
from ocw_operators.ratelimit import DEFAULT_RATE_PER_SECOND

ENABLE_VARIABLE = "ENABLE_WAYBACK_TASKS"
INTERVAL_VARIABLE = "WAYBACK_SUBMISSION_INTERVAL_DAYS"
RATE_VARIABLE = "WAYBACK_RATE_LIMIT_PER_SECOND"
EXPIRY_VARIABLE = "WAYBACK_PENDING_EXPIRY_HOURS"

VARIABLE_DEFAULTS: dict[str, str] = {
    ENABLE_VARIABLE: "false",  # off by default, as in ocw-studio: captures are a deliberate decision
    INTERVAL_VARIABLE: "30",
    RATE_VARIABLE: str(DEFAULT_RATE_PER_SECOND),
    EXPIRY_VARIABLE: "6",
}


@dataclass(frozen=True)
class WaybackSettings:
    enabled: bool
    submission_interval: dt.timedelta
    rate_per_second: float
    pending_expiry: dt.timedelta


def _positive_number(raw: str, name: str, *, maximum: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {str(raw)[:40]!r}") from None
    if not math.isfinite(value) or not 0 < value <= maximum:
        raise ValueError(f"{name} must be greater than 0 and at most {maximum:g}, got {value!r}")
    return value


def parse_wayback_settings(raw: Mapping[str, str]) -> WaybackSettings:
    """Validate the Variables (missing keys take :data:`VARIABLE_DEFAULTS`); a bad value is a clear error."""
    values = {**VARIABLE_DEFAULTS, **{key: value for key, value in raw.items() if value is not None}}
    return WaybackSettings(
        enabled=parse_flag(values[ENABLE_VARIABLE], ENABLE_VARIABLE),
        submission_interval=dt.timedelta(
            days=_positive_number(values[INTERVAL_VARIABLE], INTERVAL_VARIABLE, maximum=3650)
        ),
        # The ceiling only catches unit mistakes; tests run far faster than SPN2 allows against the sandbox.
        rate_per_second=_positive_number(values[RATE_VARIABLE], RATE_VARIABLE, maximum=100),
        pending_expiry=dt.timedelta(hours=_positive_number(values[EXPIRY_VARIABLE], EXPIRY_VARIABLE, maximum=24 * 30)),
    )
