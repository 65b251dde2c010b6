"""Parsing of Param and Variable values, which arrive as native values or as rendered template text.

Plain functions with no Airflow imports; each raises ``ValueError`` naming the setting, and the operators turn
that into the task error they want.
"""

from __future__ import annotations

import json
from typing import Any

_TRUE = {"true", "1", "yes", "y", "t", "on"}
_FALSE = {"false", "0", "no", "n", "f", "off", "", "none"}


def parse_flag(value: Any, name: str) -> bool:
    """``True``/``False`` from a bool or an unambiguous spelling ("true", "0", "off", ...); None is false."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, got {str(value)[:40]!r}")


def _sequence(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return json.loads(text) if text.startswith("[") else [part for part in text.split(",") if part.strip()]
    return value


def parse_names(value: Any, name: str) -> list[str]:
    """A list of names from a list, a JSON list, or comma-separated text; blanks dropped, empty for None/""."""
    if value is None or value == "":
        return []
    value = _sequence(value)
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of strings, got {str(value)[:100]!r}")
    return [item.strip() for item in value if item.strip()]


def parse_ids(value: Any, name: str) -> list[int]:
    """A list of integer ids from a list, a JSON list, or comma-separated text (booleans refused)."""
    if value is None or value == "":
        return []
    value = _sequence(value)
    try:
        if not isinstance(value, (list, tuple)) or any(isinstance(item, bool) for item in value):
            raise TypeError
        return [int(item) for item in value]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of integers, got {str(value)[:100]!r}") from None
