"""Both ways of running Airflow enable the connection Test button and register the connection forms."""

from __future__ import annotations

import configparser
from pathlib import Path

import yaml

from scripts.run_local import Layout, airflow_env, write_airflow_cfg

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_enables_the_test_button(tmp_path):
    layout = Layout(var=tmp_path)
    assert airflow_env(layout)["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"
    config = configparser.ConfigParser(interpolation=None)
    config.read(write_airflow_cfg(layout), encoding="utf-8")
    assert config.get("core", "test_connection") == "Enabled", "the airflow CLI sees it too"


def test_compose_enables_the_test_button_for_every_airflow_service():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    assert compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"
    api_server = compose["services"]["airflow-apiserver"]
    assert api_server["environment"]["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"


def test_both_mask_an_archive_db_url_in_extra(tmp_path):
    assert airflow_env(Layout(var=tmp_path))["AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES"] == "sqlalchemy_url"
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    assert compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES"] == "sqlalchemy_url"


def test_the_image_installs_the_provider_entry_point():
    # Without the package's metadata Airflow knows neither the connection types nor their forms.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY --chown=airflow:0 pyproject.toml /opt/ocw/src/" in dockerfile
    assert "RUN pip install --no-cache-dir --no-deps /opt/ocw/src" in dockerfile
