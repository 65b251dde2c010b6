import pytest

from ocw_operators.operators.external_resource_check import MAX_MAPPED_BATCHES, batch_size_for
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


def test_batch_size_comes_from_the_variable(monkeypatch, archive_db_conn, archive_engine):
    from ocw_operators.db.engine import session_scope
    from ocw_operators.external_resources.file_import import ResourceRecord, import_records
    from ocw_operators.external_resources.identity import resource_uuid
    from ocw_operators.operators.external_resource_check import ListResourceBatchesOperator

    urls = [f"https://example.org/{n}" for n in range(7)]
    with session_scope(archive_engine) as session:
        import_records(session, [ResourceRecord(resource_uuid("s", url), "s", url) for url in urls])
    monkeypatch.setenv("AIRFLOW_VAR_LINK_CHECK_BATCH_SIZE", "3")
    batches = ListResourceBatchesOperator(task_id="list").execute({})
    assert [len(batch) for batch in batches] == [3, 3, 1]
    assert [len(batch) for batch in ListResourceBatchesOperator(task_id="list", batch_size=5).execute({})] == [5, 2]
