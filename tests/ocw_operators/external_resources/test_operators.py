"""The DAG's operators outside a DAG run: option handling, errors, and the outlet event extra."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from ocw_operators.assets import EXTERNAL_RESOURCES_CREATED
from ocw_operators.operators.external_resource_import import (
    ExternalResourceImportOperator,
    ExternalResourcesAnnounceOperator,
)


class _OutletEvents(dict):
    def __missing__(self, asset):
        self[asset] = SimpleNamespace(extra={})
        return self[asset]


class _TaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def _context(run_id: str) -> dict:
    return {"run_id": run_id, "ti": _TaskInstance(), "outlet_events": _OutletEvents()}


def test_rendered_string_params_are_understood(archive_db_conn, sites_dir):
    operator = ExternalResourceImportOperator(
        task_id="import",
        sites_dir=str(sites_dir),
        rules="link_to_external_resource, nav_item_to_external_resource",
        commit="True",
        site_names="18.06-spring-2010",
    )
    summary = operator.execute(_context("manual__1"))
    assert summary["commit"] is True and summary["sites_processed"] == 1
    assert summary["resources_created"] == 17 and summary["resources_loaded"] == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"add_external_license_warning": True, "no_external_license_warning": True}, "mutually exclusive"),
        ({"commit": "maybe"}, "commit must be true or false"),
        ({"sites_dir": ""}, "OCW_SITES_DIR"),
    ],
)
def test_bad_options_fail_without_retry(archive_db_conn, sites_dir, overrides, message):
    values = {"task_id": "import", "sites_dir": str(sites_dir), "commit": True, **overrides}
    with pytest.raises(AirflowFailException, match=message):
        ExternalResourceImportOperator(**values).execute(_context("manual__2"))


def test_a_dry_run_keeps_its_report_under_the_data_dir(archive_db_conn, sites_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW_VAR_OCW_DATA_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    operator = ExternalResourceImportOperator(task_id="import", sites_dir=str(sites_dir))
    summary = operator.execute(_context("manual__2026-03-01T00:00:00+00:00"))
    report = Path(summary["csv"])
    assert report.parent == tmp_path / "home" / "data" / "reports" / operator.dag_id
    assert report.is_file() and summary["commit"] is False and summary["resources_would_create"] == 20

    monkeypatch.setenv("AIRFLOW_VAR_OCW_DATA_DIR", str(tmp_path / "data"))
    summary = operator.execute(_context("manual__2"))
    assert Path(summary["csv"]) == tmp_path / "data" / "reports" / operator.dag_id / "manual__2.csv"

    explicit = tmp_path / "mine.csv"
    operator = ExternalResourceImportOperator(task_id="import", sites_dir=str(sites_dir), out_csv=str(explicit))
    assert operator.execute(_context("manual__3"))["csv"] == str(explicit)


def test_a_commit_logs_its_counts_as_sentences(archive_db_conn, sites_dir, tmp_path, capfd):
    (sites_dir / "6.001-fall-2005" / "config" / "_default" / "menus.yaml").write_text("- not a mapping\n")
    operator = ExternalResourceImportOperator(
        task_id="import", sites_dir=str(sites_dir), commit=True, out_csv=str(tmp_path / "r.csv")
    )
    with pytest.raises(AirflowFailException):
        operator.execute(_context("manual__5"))
    logged = "".join(capfd.readouterr())
    assert "Committed the import of 1 site (2 skipped, 1 with errors): converted 23 links and 3 menu items, " in logged
    assert "created 20 external resources" in logged and "rewrote " in logged
    assert "Site 6.001-fall-2005 could not be fully imported: " in logged
    assert "Skipped site ocw-www: no data/course.json: not a course site" in logged
    assert "Wrote the report (" in logged and f"to {tmp_path / 'r.csv'}." in logged


def test_a_relative_data_dir_is_refused(archive_db_conn, sites_dir, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_DATA_DIR", "var/data")
    with pytest.raises(AirflowException, match="OCW_DATA_DIR='var/data' must be an absolute path"):
        ExternalResourceImportOperator(task_id="import", sites_dir=str(sites_dir)).execute(_context("manual__4"))


def test_site_errors_fail_after_the_rest_is_committed_and_keep_the_summary(archive_db_conn, sites_dir):
    (sites_dir / "6.001-fall-2005" / "config" / "_default" / "menus.yaml").write_text("- not a mapping\n")
    context = _context("manual__3")
    operator = ExternalResourceImportOperator(task_id="import", sites_dir=str(sites_dir), commit=True)
    with pytest.raises(AirflowFailException, match=r"1 site\(s\) could not be fully imported \(6.001-fall-2005\)"):
        operator.execute(context)
    summary = context["ti"].pushed["import_summary"]
    assert summary["site_errors"][0]["site"] == "6.001-fall-2005"
    assert summary["resources_created"] == 20  # the 6.001 pages were converted; only its menu was refused


def test_announce_sets_the_outlet_extra_or_skips(archive_db_conn, sites_dir):
    ExternalResourceImportOperator(task_id="import", sites_dir=str(sites_dir), commit=True).execute(
        _context("manual__4")
    )
    announce = ExternalResourcesAnnounceOperator(task_id="announce")
    assert [outlet.uri for outlet in announce.outlets] == [EXTERNAL_RESOURCES_CREATED.uri]
    context = _context("manual__4")
    # The 20 created and the one loaded from its page (new to the archive DB, so captured too).
    assert announce.execute(context) == {"resources_announced": 21}
    assert sorted(context["outlet_events"][EXTERNAL_RESOURCES_CREATED].extra["resource_ids"]) == list(range(1, 22))
    with pytest.raises(AirflowSkipException):
        announce.execute(_context("manual__other-run"))


def test_sites_dir_is_templated_and_nothing_secret_is(archive_db_conn):
    fields = ExternalResourceImportOperator.template_fields
    assert "sites_dir" in fields and "commit" in fields and "archive_db_conn_id" not in fields
