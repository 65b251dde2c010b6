"""``python -m ocw_operators.resource_import``: flags, exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocw_operators.resource_import.cli import EXIT_OK, EXIT_SITE_ERRORS, EXIT_USAGE, main

from .conftest import snapshot_files

ROOT = Path(__file__).resolve().parents[3]


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "ocw_operators.resource_import", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    for flag in (
        "--commit",
        "--out",
        "--published-only",
        "--add-external-license-warning",
        "--no-external-license-warning",
        "--sites-dir",
        "--db-url",
        "link_to_external_resource",
    ):
        assert flag in result.stdout


def test_dry_run_needs_out_or_commit(capsys, sites_dir, archive_db_url):
    with pytest.raises(SystemExit) as exit_info:
        main(["link_to_external_resource", "--sites-dir", str(sites_dir), "--db-url", archive_db_url])
    assert exit_info.value.code == EXIT_USAGE
    assert "pass commit to save changes, an output CSV to report them, or both" in capsys.readouterr().err


def test_both_license_flags_are_refused(capsys, sites_dir):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "link_to_external_resource",
                "--commit",
                "--sites-dir",
                str(sites_dir),
                "--add-external-license-warning",
                "--no-external-license-warning",
            ]
        )
    assert exit_info.value.code == EXIT_USAGE
    assert "not allowed with argument --add-external-license-warning" in capsys.readouterr().err


def test_unknown_rule_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["resolveuid", "--commit"])
    assert "invalid choice: 'resolveuid'" in capsys.readouterr().err


def test_dry_run_with_csv_then_commit(capsys, sites_dir, archive_db_url, tmp_path):
    before = snapshot_files(sites_dir)
    out = tmp_path / "links.csv"
    common = ["--sites-dir", str(sites_dir), "--db-url", archive_db_url]
    assert main(["link_to_external_resource", "--out", str(out), *common]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "dry run (nothing saved)" in printed and "resources would be created: 13" in printed
    assert snapshot_files(sites_dir) == before
    assert out.read_text().startswith("site_name,site_short_id,rule,")

    assert main(["link_to_external_resource", "nav_item_to_external_resource", "--commit", *common]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "committed" in printed and "resources created: 15" in printed
    assert archive_db_url not in printed  # the DB URL (and any password in it) is never printed


def test_site_errors_exit_1_after_processing_the_rest(capsys, sites_dir, archive_db_url):
    (sites_dir / "6.001-fall-2005" / "data" / "website.json").write_text("{not json")
    code = main(["link_to_external_resource", "--commit", "--sites-dir", str(sites_dir), "--db-url", archive_db_url])
    assert code == EXIT_SITE_ERRORS
    assert "ERROR 6.001-fall-2005: data/website.json: malformed JSON" in capsys.readouterr().out
    assert "resource_link" in (sites_dir / "18.06-spring-2010" / "content" / "_index.md").read_text()


def test_unmigrated_database_is_a_clear_error(capsys, sites_dir, tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["link_to_external_resource", "--commit", "--sites-dir", str(sites_dir), "--db-url", empty]) == (
        EXIT_USAGE
    )
    assert "lacks migrations" in capsys.readouterr().err


def test_database_from_the_airflow_connection(capsys, sites_dir, archive_db_conn, tmp_path):
    out = tmp_path / "o.csv"
    assert main(["nav_item_to_external_resource", "--out", str(out), "--sites-dir", str(sites_dir)]) == EXIT_OK
    assert json.dumps("would_create")[1:-1] in out.read_text()
