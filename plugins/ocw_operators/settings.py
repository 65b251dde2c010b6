"""Run-time settings read from Airflow Variables, with typed defaults.

Only called inside task execution (never at DAG parse time). In development the Variables come from
``AIRFLOW_VAR_<KEY>`` environment variables; in production from the Variables UI or a secrets backend.
"""

from __future__ import annotations

import os

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


DATA_DIR_VARIABLE = "OCW_DATA_DIR"


def default_data_dir() -> str:
    """Where files kept for people go when ``OCW_DATA_DIR`` is unset: ``$AIRFLOW_HOME/data``."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.join(os.path.expanduser("~"), "airflow")
    return os.path.join(home, "data")


def data_dir(value: str | None = None) -> str:
    """The data folder on the workers: ``value`` (a rendered template), else Variable ``OCW_DATA_DIR``, else
    :func:`default_data_dir`. Must be absolute: a relative path would land wherever the worker happens to run."""
    text = (value or "").strip() or variable_text(DATA_DIR_VARIABLE, "").strip() or default_data_dir()
    if not os.path.isabs(text):
        raise AirflowException(f"Variable {DATA_DIR_VARIABLE}={text!r} must be an absolute path")
    return text
