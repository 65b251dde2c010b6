"""Wording for task logs: numbers with their nouns, lists in plain English. No Airflow imports."""

from __future__ import annotations

from collections.abc import Iterable


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``"1 resource"``, ``"5 resources"``, ``"0 batches"`` (pass ``plural_noun`` when "s" is wrong)."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural_noun or noun + 's'}"


def names(values: Iterable[object], *, empty: str = "none", limit: int = 10) -> str:
    """``"a, b and c"``; at most ``limit`` names, then ``"and 4 more"``; ``empty`` for none."""
    items = [str(value) for value in values]
    if not items:
        return empty
    shown, rest = items[:limit], len(items) - limit
    if rest > 0:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"
