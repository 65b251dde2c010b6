"""``archive_attention`` under ``dag.test()``: one digest at the sandbox SMTP server listing the seeded conditions,
and no mail when nothing needs attention."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ocw_operators.alerts.attention import attention_report
from tests.ocw_operators.alerts.seed import seed_conditions

pytestmark = pytest.mark.airflow_e2e


def _recent(engine):
    """Seed relative to the real clock: the task reads ``now`` itself."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    seed_conditions(engine, now)
    assert not attention_report(engine, workflow_days=14, held_hours=24, recent_days=7, now=now).is_empty()


def test_the_digest_lists_the_seeded_conditions_in_one_mail(
    project_dags, archive_db_conn, archive_engine, mail_sandbox
):
    _recent(archive_engine)
    run = project_dags["archive_attention"].test()
    assert str(run.state) == "success"
    [message] = mail_sandbox.messages()
    assert message["Subject"].startswith("[ocw-archive] Needs attention ")
    assert "2 retirements, 1 flag, 1 held volume, 3 newly broken links, 2 Wayback errors" in message["Subject"]
    body = message.get_body(preferencelist=("html",)).get_content()
    for text in ("history/old-workflow", "math/withdrawn", "UF00001234_00001", "8-01-physics",
                 "error:too-many-redirects", "/archive/retirements"):  # fmt: skip
        assert text in body, text
    assert "sword:pw" not in message.as_string()
    if keep := os.environ.get("OCW_KEEP_ALERT_MAIL"):
        shutil.copy(mail_sandbox.mailbox.messages()[0].path, Path(keep) / "digest.eml")


def test_no_digest_when_nothing_needs_attention(project_dags, archive_db_conn, archive_engine, mail_sandbox):
    run = project_dags["archive_attention"].test()
    assert str(run.state) == "success"
    assert mail_sandbox.messages() == []
