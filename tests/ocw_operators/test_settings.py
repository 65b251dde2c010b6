import pytest
from airflow.sdk.exceptions import AirflowException

from ocw_operators.settings import variable_flag, variable_number, variable_text


def test_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_OCW_TEST_SETTING", raising=False)
    assert variable_flag("OCW_TEST_SETTING", True) is True
    assert variable_number("OCW_TEST_SETTING", 0.11) == 0.11
    assert variable_text("OCW_TEST_SETTING", "x") == "x"


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("On", True), ("1", True), ("false", False), ("0", False)]
)
def test_flags(monkeypatch, raw, expected):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_TEST_SETTING", raw)
    assert variable_flag("OCW_TEST_SETTING", not expected) is expected


def test_bad_values_are_clear_errors(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_OCW_TEST_SETTING", "maybe")
    with pytest.raises(AirflowException, match="must be true or false"):
        variable_flag("OCW_TEST_SETTING", False)
    with pytest.raises(AirflowException, match="not a number"):
        variable_number("OCW_TEST_SETTING", 1.0)
    monkeypatch.setenv("AIRFLOW_VAR_OCW_TEST_SETTING", "-2")
    with pytest.raises(AirflowException, match="below the minimum"):
        variable_number("OCW_TEST_SETTING", 1.0, minimum=0)
