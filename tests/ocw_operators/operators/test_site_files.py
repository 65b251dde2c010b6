"""The write-back operator outside a DAG run: its settings, the dry run, the log, and how failures end the task."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from sqlalchemy import update

from ocw_operators.db import make_engine, session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.options import ImportOptions
from ocw_operators.operators.site_files import WriteSiteFilesOperator
from tests.ocw_operators.external_resources.git_sites import log, make_checkout

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sites"
LINEAR = "18.06-spring-2010"


@pytest.fixture
def sites(archive_db_conn, tmp_path, monkeypatch):
    """The fixture sites, imported, 18.06 a git checkout, one resource now valid in the archive DB."""
    monkeypatch.delenv("AIRFLOW_VAR_OCW_SITES_DIR", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_OCW_SITES_GIT_PUSH_REMOTE", raising=False)
    target = tmp_path / "sites"
    shutil.copytree(FIXTURES, target)
    engine = make_engine(archive_db_conn)
    options = ImportOptions.build(sites_dir=target, rules=("link_to_external_resource",), run_id="i", commit=True)
    import_sites(engine, options)
    make_checkout(target / LINEAR)
    with session_scope(engine) as session:
        session.execute(
            update(ExternalResource)
            .where(ExternalResource.site_name == LINEAR, ExternalResource.url == "https://ocw.mit.edu")
            .values(status="valid")
        )
    engine.dispose()
    return target


def _context(run_id: str = "manual__1") -> dict:
    return {"run_id": run_id}


def test_without_a_sites_folder_the_task_skips(archive_db_conn, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_OCW_SITES_DIR", raising=False)
    with pytest.raises(AirflowSkipException, match="No sites folder is set"):
        WriteSiteFilesOperator(task_id="write").execute(_context())


def test_the_sites_folder_variable_is_read_at_run_time_and_a_dry_run_writes_nothing(sites, monkeypatch, capfd):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_SITES_DIR", str(sites))
    summary = WriteSiteFilesOperator(task_id="write", dry_run="True").execute(_context())
    assert (summary["dry_run"], summary["pages_to_change"], summary["pages_written"]) == (True, 1, 0)
    logged = "".join(capfd.readouterr())
    assert "Dry run over every site: 1 external-resource page would change; nothing was written." in logged
    assert "Would change 18.06-spring-2010: content/external-resources/mit-opencourseware_" in logged
    assert len(log(sites / LINEAR)) == 1


def test_a_write_commits_by_the_author_variable_and_logs_it(sites, monkeypatch, capfd):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_SITES_GIT_AUTHOR", "Link Checker <links@example.edu>")
    operator = WriteSiteFilesOperator(task_id="write", sites_dir=str(sites), site_filter="18.06-spring-2010",
                                      context_label="link check")  # fmt: skip
    summary = operator.execute(_context("scheduled__2026-07-06"))
    assert summary["pages_written"] == 1 and list(summary["commits"]) == [LINEAR]
    assert log(sites / LINEAR)[0][0] == "Link Checker <links@example.edu>"
    logged = "".join(capfd.readouterr())
    assert "Updated 1 external-resource page of 18.06-spring-2010 with the archive DB's link status" in logged
    assert "by Link Checker <links@example.edu>." in logged


def test_a_malformed_author_fails_without_retrying(sites, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_SITES_GIT_AUTHOR", "nobody")
    with pytest.raises(AirflowFailException, match="OCW_SITES_GIT_AUTHOR"):
        WriteSiteFilesOperator(task_id="write", sites_dir=str(sites)).execute(_context())


def test_a_git_failure_fails_the_task_after_every_site_was_written(sites, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_SITES_GIT_PUSH_REMOTE", "nowhere")
    with pytest.raises(
        AirflowException, match=r"1 site could not be updated or committed: 18.06-spring-2010: git push"
    ):
        WriteSiteFilesOperator(task_id="write", sites_dir=str(sites)).execute(_context())
    assert len(log(sites / LINEAR)) == 2  # written and committed; only the push is left for the retry


def test_bad_params_fail_without_retrying(sites):
    with pytest.raises(AirflowFailException, match="dry_run must be true or false"):
        WriteSiteFilesOperator(task_id="write", sites_dir=str(sites), dry_run="maybe").execute(_context())
