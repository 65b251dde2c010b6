"""The settings registry: Variables read at run time with typed defaults, bounds and errors that name them."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import Variable
from airflow.sdk._shared.secrets_masker import _secrets_masker, redact
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowRuntimeError, ErrorType
from airflow.sdk.execution_time.comms import ErrorResponse

from ocw_operators import settings
from ocw_operators.params import InvalidValueError, parse_flag
from ocw_operators.settings import SETTINGS, Kind, fail_on_bad_input, parse_setting, read_variable, setting


@pytest.fixture
def unset(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(f"AIRFLOW_VAR_{name.upper()}", raising=False)


def test_defaults_when_unset(unset):
    assert setting("ENABLE_CHECK_EXTERNAL_RESOURCE_TASK") is True
    assert setting("WAYBACK_RATE_LIMIT_PER_SECOND") == 0.11
    assert setting("OCW_SITEMAP_DOMAIN") == "ocw.mit.edu"
    assert setting("LINK_CHECK_PER_HOST_LIMIT") == 4 and isinstance(setting("LINK_CHECK_PER_HOST_LIMIT"), int)
    assert setting("TIVOLI_RETRIEVE_ROOT") is None


def test_a_blank_variable_means_its_default_and_an_argument_wins(unset, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DSMC_COMMAND", "  ")
    assert setting("TIVOLI_DSMC_COMMAND") == "dsmc"
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DSMC_COMMAND", " /opt/dsmc -virtualnode=A ")
    assert setting("TIVOLI_DSMC_COMMAND") == "/opt/dsmc -virtualnode=A"
    assert setting("TIVOLI_DSMC_COMMAND", "other") == "other"
    assert setting("TIVOLI_DSMC_COMMAND", "None") == "/opt/dsmc -virtualnode=A"  # an unset Param, rendered


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("On", True), ("1", True), ("false", False), ("0", False)]
)
def test_flags(monkeypatch, raw, expected):
    monkeypatch.setenv("AIRFLOW_VAR_ENABLE_WAYBACK_TASKS", raw)
    assert setting("ENABLE_WAYBACK_TASKS") is expected


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("ENABLE_WAYBACK_TASKS", "maybe", "Variable ENABLE_WAYBACK_TASKS must be true or false, got 'maybe'"),
        ("LINK_CHECK_TIMEOUT_SECONDS", "soon", "Variable LINK_CHECK_TIMEOUT_SECONDS must be a number, got 'soon'"),
        ("LINK_CHECK_TIMEOUT_SECONDS", "0.5", "Variable LINK_CHECK_TIMEOUT_SECONDS must be at least 1, got 0.5"),
        ("LINK_CHECK_BATCH_SIZE", "2.5", "Variable LINK_CHECK_BATCH_SIZE must be a whole number, got '2.5'"),
        ("TIVOLI_QUIET_MINUTES", "-2", "Variable TIVOLI_QUIET_MINUTES must be at least 0, got -2.0"),
        (
            "WAYBACK_RATE_LIMIT_PER_SECOND",
            "1000",
            "Variable WAYBACK_RATE_LIMIT_PER_SECOND must be greater than 0 and at most 100, got 1000.0",
        ),
        ("WAYBACK_PENDING_EXPIRY_HOURS", "nan", "must be greater than 0 and at most 720, got nan"),
        ("TIVOLI_STAGING_DIR", "var/staging", "Variable TIVOLI_STAGING_DIR='var/staging' must be an absolute path"),
    ],
)
def test_bad_values_fail_the_task_naming_the_variable_and_its_bounds(monkeypatch, name, raw, message):
    monkeypatch.setenv(f"AIRFLOW_VAR_{name}", raw)
    with pytest.raises(AirflowFailException) as failed:
        setting(name)
    assert message in str(failed.value)
    with pytest.raises(InvalidValueError, match="must be"):
        parse_setting(name, raw)


def test_whole_numbers_written_as_decimals_are_whole(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_LINK_CHECK_BATCH_SIZE", "500.0")
    assert setting("LINK_CHECK_BATCH_SIZE") == 500


def test_an_argument_that_stands_in_for_a_variable_is_named_as_such(unset):
    with pytest.raises(AirflowFailException, match="the operator argument for TIVOLI_QUIET_MINUTES must be a number"):
        setting("TIVOLI_QUIET_MINUTES", "soon")


def test_a_required_path_names_its_variable(unset, tmp_path, monkeypatch):
    with pytest.raises(AirflowFailException, match="set the Airflow Variable TIVOLI_DROPBOX_DIR"):
        setting("TIVOLI_DROPBOX_DIR")
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_DROPBOX_DIR", str(tmp_path))
    assert setting("TIVOLI_DROPBOX_DIR") == tmp_path


def test_data_dir_defaults_under_airflow_home(unset, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert settings.data_dir() == tmp_path / "data"
    assert settings.data_dir(" ") == tmp_path / "data"
    assert settings.data_dir(str(tmp_path / "x")) == tmp_path / "x"
    monkeypatch.setenv("AIRFLOW_VAR_OCW_DATA_DIR", "var/data")
    with pytest.raises(AirflowException, match="OCW_DATA_DIR='var/data' must be an absolute path"):
        settings.data_dir()


def test_bad_params_fail_without_retries():
    with pytest.raises(AirflowFailException, match="dry_run must be true or false"), fail_on_bad_input():
        parse_flag("perhaps", "dry_run")
    with pytest.raises(KeyError), fail_on_bad_input():  # anything else passes through unchanged
        raise KeyError("x")


def test_every_setting_is_typed_and_its_default_parses():
    for entry in SETTINGS.values():
        assert entry.description.strip(), entry.name
        assert isinstance(entry.kind, Kind)
        if entry.default is not None:
            assert entry.parse(str(entry.default).lower()) == entry.default, entry.name
        if entry.kind is Kind.PATH:
            assert entry.default is None, "a path default depends on the machine: use default_factory"
        if entry.required:
            assert entry.default is None and entry.default_factory is None, f"{entry.name}: required or default"


def test_only_not_found_means_unset(monkeypatch):
    def denied(key, **kwargs):
        raise AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"message": "down"}))

    monkeypatch.setattr(Variable, "get", staticmethod(denied))
    with pytest.raises(AirflowRuntimeError):
        read_variable("OCW_SITEMAP_DOMAIN")


@pytest.fixture
def sensitive_sitemap_domain():
    """The masker as a deployment with ``[core] sensitive_var_conn_names = sitemap_domain`` configures it."""
    masker = _secrets_masker()
    saved = (set(masker.patterns), masker.replacer, list(masker.sensitive_variables_fields))
    masker.sensitive_variables_fields = [*masker.sensitive_variables_fields, "sitemap_domain"]
    yield masker
    masker.patterns, masker.replacer, masker.sensitive_variables_fields = saved


def test_a_default_never_reaches_the_secrets_masker(unset, sensitive_sitemap_domain):
    """Task SDK 1.3's ``Variable.get(key, default=...)`` masks the default when the key counts as sensitive; the
    registry reads not-found itself, so a default value stays readable in every task log."""
    line = "links to ocw.mit.edu get no warning"
    assert setting("OCW_SITEMAP_DOMAIN") == "ocw.mit.edu"
    assert redact(line) == line
    # What reading with a default would have done (the reason read_variable handles not-found itself):
    assert Variable.get("OCW_SITEMAP_DOMAIN", default="ocw.mit.edu") == "ocw.mit.edu"
    assert redact(line) == "links to *** get no warning"


def test_a_value_that_is_read_is_masked_as_the_sdk_decides(monkeypatch, sensitive_sitemap_domain):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_SITEMAP_DOMAIN", "private.example.edu")
    assert setting("OCW_SITEMAP_DOMAIN") == "private.example.edu"
    assert redact("see private.example.edu") == "see ***"


def test_paths_come_back_as_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_VAR_TIVOLI_RETRIEVE_ROOT", str(tmp_path))
    assert setting("TIVOLI_RETRIEVE_ROOT") == Path(tmp_path)
