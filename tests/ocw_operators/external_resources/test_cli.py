"""``python -m ocw_operators resources import-markdown``: flags, exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocw_operators.cli import EXIT_OK, EXIT_SITE_ERRORS, EXIT_USAGE, main

from .conftest import snapshot_files

ROOT = Path(__file__).resolve().parents[3]


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "ocw_operators", "resources", "import-markdown", "--help"],
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
        "--rule",
        "SITES_DIR",
        "--site",
        "--sitemap-domain",
        "--git-author",
        "--git-push-remote",
        "--db-url",
        "--conn-id",
        "link_to_external_resource",
    ):
        assert flag in result.stdout


LINKS = ["--rule", "link_to_external_resource"]
MENUS = ["--rule", "nav_item_to_external_resource"]


def markdown(*args: str) -> list[str]:
    return ["resources", "import-markdown", *args]


def test_dry_run_needs_out_or_commit(capsys, sites_dir, archive_db_url):
    with pytest.raises(SystemExit) as exit_info:
        main(markdown(str(sites_dir), *LINKS, "--db-url", archive_db_url))
    assert exit_info.value.code == EXIT_USAGE
    assert "pass commit to save changes, an output CSV to report them, or both" in capsys.readouterr().err


def test_both_license_flags_are_refused(capsys, sites_dir):
    with pytest.raises(SystemExit) as exit_info:
        main(
            markdown(
                str(sites_dir), *LINKS, "--commit", "--add-external-license-warning", "--no-external-license-warning"
            )
        )
    assert exit_info.value.code == EXIT_USAGE
    assert "not allowed with argument --add-external-license-warning" in capsys.readouterr().err


def test_unknown_rule_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(markdown("--rule", "resolveuid", "--commit"))
    assert "invalid choice: 'resolveuid'" in capsys.readouterr().err


def test_db_url_and_conn_id_together_are_refused(capsys, sites_dir):
    with pytest.raises(SystemExit) as exit_info:
        main(["--conn-id", "other", *markdown(str(sites_dir), "--commit", "--db-url", "sqlite://")])
    assert exit_info.value.code == EXIT_USAGE
    assert "not both" in capsys.readouterr().err


def test_dry_run_with_csv_then_commit(capsys, sites_dir, archive_db_url, tmp_path):
    before = snapshot_files(sites_dir)
    out = tmp_path / "links.csv"
    assert main(["--db-url", archive_db_url, *markdown(str(sites_dir), *LINKS, "--out", str(out))]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "dry run (nothing saved)" in printed and "resources would be created: 19" in printed
    assert snapshot_files(sites_dir) == before
    assert out.read_text().startswith("site_name,site_short_id,rule,")

    # Both rules by default; the DB options may also follow the command.
    assert main(markdown(str(sites_dir), "--commit", "--db-url", archive_db_url)) == EXIT_OK
    printed = capsys.readouterr().out
    assert "committed" in printed and "resources created: 20" in printed
    assert archive_db_url not in printed  # the DB URL (and any password in it) is never printed


def test_site_errors_exit_1_after_processing_the_rest(capsys, sites_dir, archive_db_url):
    (sites_dir / "6.001-fall-2005" / "data" / "course.json").write_text("{not json")
    code = main(markdown(str(sites_dir), *LINKS, "--commit", "--db-url", archive_db_url))
    assert code == EXIT_SITE_ERRORS
    assert "ERROR 6.001-fall-2005: data/course.json: malformed JSON" in capsys.readouterr().out
    assert "resource_link" in (sites_dir / "18.06-spring-2010" / "content" / "pages" / "course-home.md").read_text()


def test_unmigrated_database_is_a_clear_error(capsys, sites_dir, tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(markdown(str(sites_dir), *LINKS, "--commit", "--db-url", empty)) == EXIT_USAGE
    assert "lacks migrations" in capsys.readouterr().err


def test_sites_dir_defaults_to_the_environment(capsys, sites_dir, archive_db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("OCW_SITES_DIR", str(sites_dir))
    out = tmp_path / "o.csv"
    assert main(["--db-url", archive_db_url, *markdown(*MENUS, "--out", str(out))]) == EXIT_OK
    assert "would_create" in out.read_text()


def test_database_from_the_airflow_connection(capsys, sites_dir, archive_db_conn, tmp_path, monkeypatch):
    monkeypatch.delenv("OCW_ARCHIVE_DB_URL", raising=False)
    out = tmp_path / "o.csv"
    assert main(markdown(str(sites_dir), *MENUS, "--out", str(out))) == EXIT_OK
    assert json.dumps("would_create")[1:-1] in out.read_text()


def test_database_from_a_named_connection_wins_over_the_environment(
    capsys, sites_dir, archive_db_url, tmp_path, monkeypatch
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OTHER_ARCHIVE",
        json.dumps({"conn_type": "ocw_archive_db", "extra": {"sqlalchemy_url": archive_db_url}}),
    )
    monkeypatch.setenv("OCW_ARCHIVE_DB_URL", f"sqlite:///{tmp_path / 'unmigrated.db'}")
    assert main(["--conn-id", "other_archive", *markdown(str(sites_dir), *MENUS, "--commit")]) == EXIT_OK
    assert "resources created: 4" in capsys.readouterr().out


def test_write_site_files_prints_what_would_change_then_writes_and_commits(capsys, sites_dir, archive_db_url):
    from sqlalchemy import update

    from ocw_operators.db import make_engine, session_scope
    from ocw_operators.db.models import ExternalResource

    from .git_sites import log, make_checkout

    assert main(["--db-url", archive_db_url, *markdown(str(sites_dir), "--commit")]) == EXIT_OK
    make_checkout(sites_dir / "18.06-spring-2010")
    engine = make_engine(archive_db_url)
    with session_scope(engine) as session:
        session.execute(update(ExternalResource).where(ExternalResource.site_name == "18.06-spring-2010").values(
            status="valid"))  # fmt: skip
    engine.dispose()
    capsys.readouterr()
    command = ["--db-url", archive_db_url, "resources", "write-site-files", str(sites_dir)]
    before = snapshot_files(sites_dir)
    assert main([*command, "--dry-run", "--site", "18.06-spring-2010"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert printed.startswith('{"dry_run": true, "pages_to_change": 17, "pages_written": 0, "commits": {}}')
    assert snapshot_files(sites_dir) == before

    assert main([*command, "--git-author", "Ops <ops@example.edu>"]) == EXIT_OK
    assert '"pages_written": 17' in capsys.readouterr().out
    assert log(sites_dir / "18.06-spring-2010")[0][0] == "Ops <ops@example.edu>"
    with pytest.raises(SystemExit):
        main([*command, "--git-author", "nobody"])
    assert "is not of the form 'Name <email@host>'" in capsys.readouterr().err
