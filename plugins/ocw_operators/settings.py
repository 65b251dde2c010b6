"""Run-time settings read from Airflow Variables, with typed defaults.

Only called inside task execution (never at DAG parse time). In development the Variables come from
``AIRFLOW_VAR_<KEY>`` environment variables; in production from the Variables UI or a secrets backend.
"""

from __future__ import annotations

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowException

from ocw_operators.params import parse_flag


def variable_text(key: str, default: str) -> str:
    value = Variable.get(key, default=None)
    return default if value is None else str(value)


def variable_flag(key: str, default: bool) -> bool:
    raw = Variable.get(key, default=None)
    if raw is None:
        return default
    try:
        return parse_flag(raw, f"Variable {key}")
    except ValueError as error:
        raise AirflowException(str(error)) from None


def variable_number(key: str, default: float, *, minimum: float | None = None) -> float:
    raw = Variable.get(key, default=None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError) as error:
        raise AirflowException(f"Variable {key}={raw!r} is not a number") from error
    if minimum is not None and value < minimum:
        raise AirflowException(f"Variable {key}={value} is below the minimum {minimum}")
    return value
