from __future__ import annotations

from pathlib import Path

import pytest

from ocw_operators.reports import run_report_path, safe_file_stem


@pytest.mark.parametrize(
    "run_id",
    [
        "manual__2026-03-01T00:00:00+00:00",
        "scheduled__2026-03-01T07:00:00-05:00",
        "../../etc/passwd",
        "my run/with slashes",
        ".hidden",
        "::",
        "x" * 400,
    ],
)
def test_file_stems_are_safe_and_keep_runs_apart(run_id):
    stem = safe_file_stem(run_id)
    assert stem and not stem.startswith(".")
    assert all(character.isalnum() or character in "._-" for character in stem)
    assert len(stem) <= 130
    assert Path("/reports", f"{stem}.csv").parent == Path("/reports")
    # Two run ids that differ only in unsafe characters still get two files.
    assert safe_file_stem(run_id.replace(":", "+") + "+") != stem


def test_safe_names_are_kept_as_they_are():
    assert safe_file_stem("backfill__2026-10-05") == "backfill__2026-10-05"


def test_report_path_is_per_dag_and_run():
    path = run_report_path("/srv/ocw", "external_resource_import", "manual__2026-03-01T00:00:00+00:00")
    assert path.parent == Path("/srv/ocw/reports/external_resource_import")
    assert path.name.startswith("manual__2026-03-01T00-00-00-00-00-") and path.suffix == ".csv"
    assert path == run_report_path("/srv/ocw", "external_resource_import", "manual__2026-03-01T00:00:00+00:00")
