import pytest

from ocw_operators.operators.external_resources import MAX_MAPPED_BATCHES, batch_size_for
from ocw_operators.params import parse_names


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, 100), (99, 100), (10_000, 100), (102_400, 100), (102_401, 101), (1_000_000, 977)],
)
def test_batches_stay_at_100_until_the_map_length_forces_larger_ones(count, expected):
    size = batch_size_for(count)
    assert size == expected
    assert -(-count // size) <= MAX_MAPPED_BATCHES


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ("", []), ("a, b,,c", ["a", "b", "c"]), (["a ", " ", "b"], ["a", "b"]), ((), [])],
)
def test_site_lists_from_form_or_cli(value, expected):
    assert parse_names(value, "sites") == expected
