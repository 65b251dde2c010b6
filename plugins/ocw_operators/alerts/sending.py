"""Delivering an alert: e-mail through the ``smtp_default`` Connection (the SMTP provider's ``SmtpNotifier``) to
``ALERT_EMAIL_RECIPIENTS``, and a JSON post to the webhook Connection named by ``ALERT_WEBHOOK_CONN_ID`` if any.

Called from failure callbacks (task process), the digest task and deadline callbacks (triggerer, in a thread).
Nothing here raises for a missing recipient list: an unset Variable means "no mail", said in the log.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from ocw_operators.alerts.messages import Email, Link
from ocw_operators.settings import setting

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"


def alert_recipients() -> list[str]:
    """``ALERT_EMAIL_RECIPIENTS`` split on commas, semicolons and spaces; empty when unset."""
    raw = setting("ALERT_EMAIL_RECIPIENTS") or ""
    return [address for address in re.split(r"[,;\s]+", raw) if address]


def send_email(email: Email, recipients: list[str], smtp_conn_id: str = SMTP_CONN_ID) -> None:
    """One message through the SMTP provider; the body is not a template (an error text may contain ``{{``)."""
    notifier = SmtpNotifier(to=recipients, subject=email.subject, html_content=email.html, smtp_conn_id=smtp_conn_id)
    notifier.notify({})  # not __call__: that would render the subject and body as Jinja templates


def webhook_payload(email: Email, kind: str, facts: dict[str, Any], links: list[Link]) -> dict[str, Any]:
    """The JSON posted to the webhook: ``text`` (what Slack and Teams incoming webhooks show) plus the fields."""
    lines = [
        email.subject,
        *(f"{key}: {value}" for key, value in facts.items()),
        *(f"{x.label}: {x.url}" for x in links),
    ]
    return {"text": "\n".join(lines), "kind": kind, "subject": email.subject, **{"facts": facts},
            "links": [{"label": x.label, "url": x.url} for x in links]}  # fmt: skip


def post_webhook(conn_id: str, payload: dict[str, Any]) -> None:
    """POST ``payload`` to the Connection's URL (host, plus schema/port/path as an HTTP Connection has them)."""
    hook = HttpHook(method="POST", http_conn_id=conn_id)
    hook.run(
        endpoint=None,
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
        extra_options={"timeout": 15},
    )


def deliver(email: Email, *, kind: str, facts: dict[str, Any] | None = None, links: list[Link] | None = None) -> int:
    """Send ``email`` to the alert recipients and the webhook; returns how many channels it went to.

    A channel that fails is logged (without the message body) and the other one is still tried; if every
    configured channel failed the last error is raised, so the caller's log shows it.
    """
    recipients = alert_recipients()
    webhook = setting("ALERT_WEBHOOK_CONN_ID")
    if not recipients and not webhook:
        log.warning("Alert not sent (%s): set the Variable ALERT_EMAIL_RECIPIENTS or ALERT_WEBHOOK_CONN_ID", kind)
        return 0
    sent, failure = 0, None
    if recipients:
        try:
            send_email(email, recipients)
            sent += 1
            log.info("Alert mailed to %d recipient(s): %s", len(recipients), email.subject)
        except Exception as error:
            log.error("Alert mail through %s failed: %s: %s", SMTP_CONN_ID, type(error).__name__, error)
            failure = error
    if webhook:
        try:
            post_webhook(webhook, webhook_payload(email, kind, facts or {}, links or []))
            sent += 1
            log.info("Alert posted to the webhook Connection %s", webhook)
        except Exception as error:
            log.error("Alert webhook %s failed: %s", webhook, type(error).__name__)
            failure = error
    if not sent and failure is not None:
        raise failure
    return sent
