"""Delivery: mail to the recipients, the JSON webhook configured by a Connection, each channel independent."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from ocw_operators.alerts.messages import Email, Link, error_excerpt
from ocw_operators.alerts.sending import WebhookError, alert_recipients, deliver

EMAIL = Email("[ocw-archive] Failed: d / t (r)", "<p>body</p>")
LINKS = [Link("Task log", "http://localhost:8080/dags/d/runs/r/tasks/t")]


@pytest.fixture
def webhook(sandbox_runtime, monkeypatch):
    received: list[dict] = []
    status = {"code": 200}

    async def hook(request: web.Request) -> web.Response:
        received.append({"path": request.path, "type": request.content_type, "body": await request.json()})
        return web.Response(status=status["code"])

    app = web.Application()
    app.router.add_post("/services/T000/B000/secret-token", hook)
    port = sandbox_runtime.serve(app)
    url = f"http://127.0.0.1:{port}/services/T000/B000/secret-token"
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_WEBHOOK", json.dumps({"conn_type": "http", "host": url}))
    monkeypatch.setenv("AIRFLOW_VAR_ALERT_WEBHOOK_CONN_ID", "alerts_webhook")
    return received, status


def test_recipients_are_split_on_commas_semicolons_and_spaces(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ALERT_EMAIL_RECIPIENTS", " a@x.edu, b@x.edu;c@x.edu  d@x.edu ")
    assert alert_recipients() == ["a@x.edu", "b@x.edu", "c@x.edu", "d@x.edu"]
    monkeypatch.setenv("AIRFLOW_VAR_ALERT_EMAIL_RECIPIENTS", "")
    assert alert_recipients() == []


def test_an_alert_goes_to_the_mailbox_and_the_webhook(mail_sandbox, webhook):
    received, _ = webhook
    assert deliver(EMAIL, kind="task_failed", facts={"dag_id": "d"}, links=LINKS) == 2
    assert [m["Subject"] for m in mail_sandbox.messages()] == [EMAIL.subject]
    [post] = received
    assert post["path"] == "/services/T000/B000/secret-token" and post["type"] == "application/json"
    assert post["body"]["kind"] == "task_failed" and post["body"]["subject"] == EMAIL.subject
    assert post["body"]["text"].startswith(EMAIL.subject) and "Task log: http://localhost:8080/" in post["body"]["text"]
    assert post["body"]["facts"] == {"dag_id": "d"} and post["body"]["links"][0]["label"] == "Task log"


def test_a_failing_webhook_does_not_stop_the_mail(mail_sandbox, webhook):
    _, status = webhook
    status["code"] = 500
    assert deliver(EMAIL, kind="task_failed") == 1
    assert len(mail_sandbox.messages()) == 1


def test_when_every_channel_fails_the_error_is_raised(webhook, monkeypatch):
    _, status = webhook
    status["code"] = 500
    with pytest.raises(WebhookError, match="alerts_webhook answered HTTP 500") as raised:
        deliver(EMAIL, kind="task_failed")
    assert "secret-token" not in str(raised.value)


def test_nothing_configured_sends_nothing(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_ALERT_EMAIL_RECIPIENTS", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_ALERT_WEBHOOK_CONN_ID", raising=False)
    assert deliver(EMAIL, kind="task_failed") == 0


def test_the_error_excerpt_keeps_the_first_lines_and_masks_credentials():
    error = RuntimeError("\n".join([f"line {n}" for n in range(1, 20)] + ["https://u:p@h.edu/x?sig=1"]))
    text = error_excerpt(error, lines=3)
    assert text == "RuntimeError: line 1\nline 2\nline 3\n… 17 more line(s) in the task log"
    assert error_excerpt("see https://u:p@h.edu/x?sig=1") == "see https://h.edu/x?<redacted>"
