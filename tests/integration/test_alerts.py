"""Alerts on the Celery cluster: a task failing for good on a worker sends one mail to the sandbox SMTP server, and
a run that overruns its deadline gets the late-run alert from the scheduler and the triggerer."""

from __future__ import annotations

import pytest

from tests.integration.cluster import wait_until

pytestmark = pytest.mark.integration

RUN_TIMEOUT_S = 180


def _subjects(mail) -> list[str]:
    return [str(message["Subject"]) for message in mail.messages()]


def test_a_task_failing_for_good_on_a_worker_sends_exactly_one_mail(celery_cluster, cluster_mail):
    """The nightly load fails without retrying when its staging folder is not configured."""
    dag_id = "tivoli_nightly_load"
    celery_cluster.unpause(dag_id)
    run_id = celery_cluster.trigger(dag_id)
    run = celery_cluster.wait_for_run(dag_id, run_id, RUN_TIMEOUT_S)
    assert run["state"] == "failed"

    wanted = f"[ocw-archive] Failed: {dag_id} / archive_staging_area ({run_id})"
    wait_until(lambda: wanted in _subjects(cluster_mail) or None, timeout_s=30, what="failure mail",
               check=celery_cluster.check_processes)  # fmt: skip
    [message] = [m for m in cluster_mail.messages() if m["Subject"] == wanted]
    body = message.get_body(preferencelist=("html",)).get_content()
    assert "TIVOLI_STAGING_DIR" in body and "/archive/tivoli" in body
    assert _subjects(cluster_mail).count(wanted) == 1


def test_an_overrun_sends_the_deadline_alert(celery_cluster, cluster_mail):
    dag_id = "archive_attention"
    celery_cluster.unpause(dag_id)
    run_id = celery_cluster.trigger(dag_id)
    celery_cluster.wait_for_run(dag_id, run_id, RUN_TIMEOUT_S)

    prefix = f"[ocw-archive] Late: {dag_id} ({run_id}) not finished by "
    late = wait_until(
        lambda: [s for s in _subjects(cluster_mail) if s.startswith(prefix)] or None,
        timeout_s=90,
        interval_s=1.0,
        what="deadline mail",
        check=celery_cluster.check_processes,
    )
    assert len(late) == 1
