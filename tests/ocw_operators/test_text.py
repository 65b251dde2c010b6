from __future__ import annotations

import pytest

from ocw_operators.text import names, plural


@pytest.mark.parametrize(
    ("count", "noun", "plural_noun", "expected"),
    [(0, "resource", None, "0 resources"), (1, "resource", None, "1 resource"), (3, "batch", "batches", "3 batches")],
)
def test_plural(count, noun, plural_noun, expected):
    assert plural(count, noun, plural_noun) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], "none"),
        (["a"], "a"),
        (["a", "b"], "a and b"),
        (["a", "b", "c"], "a, b and c"),
        (range(12), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"),
    ],
)
def test_names(values, expected):
    assert names(values, limit=10) == expected
