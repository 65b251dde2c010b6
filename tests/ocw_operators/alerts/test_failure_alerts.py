"""The failure notifier through ``dag.test()``: a task that fails for good sends exactly one mail to the sandbox
SMTP server, naming the DAG, run, task and error, with links and without any secret; retries send nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from ocw_operators.alerts.notifier import ArchiveFailureNotifier, notifies_failures
from ocw_operators.dag_defaults import START_DATE, task_defaults

pytestmark = pytest.mark.airflow_e2e

SECRET_PASSWORD = "conn-password-9f2b7d"
URL_PASSWORD = "url-password-41aa"


def _run_inline_dag(dag, **kwargs):
    """``dag.test()`` for a DAG built in a test (it must be serialized first; see the Airflow notes)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder="/nonexistent", collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test(**kwargs)


def _failing_dag(dag_id: str, *, retries: int, fail_tries: int = 99):
    from airflow.sdk import DAG, task
    from airflow.sdk.bases.hook import BaseHook

    with DAG(
        dag_id,
        schedule=None,
        start_date=START_DATE,
        default_args=task_defaults(retries=retries, retry_delay=dt.timedelta(0), pool="default_pool"),
    ) as dag:

        @task
        def load_volume(ti=None):
            if ti.try_number > fail_tries:
                return "recovered"
            password = BaseHook.get_connection("alert_test_secret").password  # the masker now knows it
            raise RuntimeError(
                f"upload to https://archive:{URL_PASSWORD}@tape.example.edu/dropbox?token=abc refused\n"
                f"server said: bad password {password!r}\nline 3\nline 4"
            )

        load_volume()
    return dag


@pytest.fixture
def secret_connection(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALERT_TEST_SECRET",
        json.dumps({"conn_type": "http", "host": "tape.example.edu", "login": "archive", "password": SECRET_PASSWORD}),
    )


def test_every_task_default_carries_the_failure_notifier_and_no_retry_callback():
    defaults = task_defaults()
    assert notifies_failures(defaults["on_failure_callback"])
    assert "on_retry_callback" not in defaults


def test_a_task_failing_for_good_sends_one_mail_with_the_facts_links_and_no_secret(
    airflow_db, mail_sandbox, secret_connection
):
    run = _run_inline_dag(_failing_dag("alert_failure_probe", retries=0))
    assert str(run.state) == "failed"

    [message] = mail_sandbox.messages()
    assert message["Subject"] == f"[ocw-archive] Failed: alert_failure_probe / load_volume ({run.run_id})"
    assert set(re.split(r",\s*", message["To"])) == {"archive-operators@example.edu", "on-call@example.edu"}
    assert message["From"] == "ocw-archive@localhost"
    raw = message.as_string()
    body = message.get_body(preferencelist=("html",)).get_content()
    for expected in ("alert_failure_probe", run.run_id, "load_volume", "RuntimeError: upload to",
                     "https://tape.example.edu/dropbox", "line 4"):  # fmt: skip
        assert expected in body, expected
    assert f"http://localhost:8080/dags/alert_failure_probe/runs/{quote(run.run_id)}/tasks/load_volume" in body
    assert f"http://localhost:8080/archive/runs/alert_failure_probe/{quote(run.run_id)}" in body
    for secret in (SECRET_PASSWORD, URL_PASSWORD, "token=abc"):
        assert secret not in raw and secret not in body, secret
    if keep := os.environ.get("OCW_KEEP_ALERT_MAIL"):  # to look at a real message: a folder to copy it to
        shutil.copy(mail_sandbox.mailbox.messages()[0].path, Path(keep) / "failure.eml")


def test_retries_send_nothing_and_the_final_failure_sends_one_mail(airflow_db, mail_sandbox, secret_connection):
    run = _run_inline_dag(_failing_dag("alert_retry_probe", retries=2))
    assert str(run.state) == "failed"
    [ti] = run.get_task_instances()
    assert ti.try_number == 3
    [message] = mail_sandbox.messages()
    assert "Try</th><td>3 of 3" in message.get_body(preferencelist=("html",)).get_content()


def test_a_task_that_recovers_on_a_retry_sends_nothing(airflow_db, mail_sandbox, secret_connection):
    run = _run_inline_dag(_failing_dag("alert_recovery_probe", retries=2, fail_tries=1))
    assert str(run.state) == "success"
    assert mail_sandbox.messages() == []


def test_without_recipients_nothing_is_sent_and_the_task_state_is_unchanged(
    airflow_db, mail_sandbox, secret_connection, monkeypatch
):
    monkeypatch.delenv("AIRFLOW_VAR_ALERT_EMAIL_RECIPIENTS")
    run = _run_inline_dag(_failing_dag("alert_no_recipients_probe", retries=0))
    assert str(run.state) == "failed"
    assert mail_sandbox.messages() == []


def test_the_notifier_is_recognised_in_a_callback_list():
    assert notifies_failures([print, ArchiveFailureNotifier()]) and not notifies_failures(print)


def test_a_mapped_task_is_named_with_its_index_and_linked_to_its_page():
    from types import SimpleNamespace

    from ocw_operators.alerts.messages import render_failure
    from ocw_operators.alerts.notifier import failure_report

    ti = SimpleNamespace(dag_id="external_resource_check", run_id="manual__1", task_id="check_batch", map_index=7,
                         try_number=4, task=SimpleNamespace(retries=3))  # fmt: skip
    report = failure_report({"ti": ti, "exception": ValueError("boom")})
    email = render_failure(report)
    assert email.subject == "[ocw-archive] Failed: external_resource_check / check_batch[7] (manual__1)"
    assert "http://localhost:8080/dags/external_resource_check/runs/manual__1/tasks/check_batch/mapped/7" in email.html
    assert "http://localhost:8080/archive/links" in email.html and "4 of 4" in email.html
    assert "ValueError: boom" in email.html
