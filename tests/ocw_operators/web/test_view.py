"""Settings as the API server reads them for the pages: the Variable, else the default, cached for a minute."""

from __future__ import annotations

from ocw_operators.settings import SETTINGS, server_setting
from ocw_operators.web import view


def test_the_server_reads_the_variable_and_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_SUBMISSION_INTERVAL_DAYS", "7")
    assert server_setting("WAYBACK_SUBMISSION_INTERVAL_DAYS") == 7
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_SUBMISSION_INTERVAL_DAYS", "not a number")
    assert server_setting("WAYBACK_SUBMISSION_INTERVAL_DAYS") == SETTINGS["WAYBACK_SUBMISSION_INTERVAL_DAYS"].default


def test_a_page_reads_a_setting_once_a_minute(monkeypatch):
    monkeypatch.setattr(view, "_settings_read", {})
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_SUBMISSION_INTERVAL_DAYS", "7")
    assert view.read_setting("WAYBACK_SUBMISSION_INTERVAL_DAYS") == 7
    monkeypatch.setenv("AIRFLOW_VAR_WAYBACK_SUBMISSION_INTERVAL_DAYS", "9")
    assert view.read_setting("WAYBACK_SUBMISSION_INTERVAL_DAYS") == 7
    monkeypatch.setattr(view, "SETTING_TTL_S", 0.0)
    assert view.read_setting("WAYBACK_SUBMISSION_INTERVAL_DAYS") == 9
