"""The pinned Celery provider imports and behaves on the pinned Celery once the compat shim is installed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy.exc import OperationalError

from ocw_operators import celery_compat

celery_database = pytest.importorskip("celery.backends.database")


def _transient() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def test_install_adds_the_decorator_only_when_missing(monkeypatch):
    # Recorded by monkeypatch first, so whatever install() adds is undone after the test.
    monkeypatch.setattr(celery_database, "retry", None, raising=False)
    monkeypatch.delattr(celery_database, "retry")
    assert celery_compat.install() is True
    assert celery_database.retry is celery_compat.database_retry
    assert celery_compat.install() is False  # already there: left alone
    assert celery_database.retry is celery_compat.database_retry


def test_retry_repeats_transient_db_errors_then_succeeds():
    calls = []

    @celery_compat.database_retry
    def query(value):
        calls.append(value)
        if len(calls) < 3:
            raise _transient()
        return value * 2

    assert query(21) == 42
    assert calls == [21, 21, 21]


def test_retry_gives_up_after_max_retries_with_the_last_error():
    calls = []

    @celery_compat.database_retry
    def query():
        calls.append(1)
        raise _transient()

    with pytest.raises(OperationalError):
        query(max_retries=2)
    assert len(calls) == 2


def test_other_errors_are_not_retried():
    calls = []

    @celery_compat.database_retry
    def query():
        calls.append(1)
        raise ValueError("bad task id")

    with pytest.raises(ValueError, match="bad task id"):
        query()
    assert calls == [1]


def test_celery_executor_imports_in_a_fresh_interpreter_with_the_shim():
    probe = (
        "from ocw_operators.celery_compat import install; install(); "
        "import airflow.providers.celery.executors.celery_executor_utils as utils; print(utils.__name__)"
    )
    result = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
