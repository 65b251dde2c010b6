"""Delivering an alert: e-mail through the ``smtp_default`` Connection (the SMTP provider's ``SmtpNotifier``) to
``ALERT_EMAIL_RECIPIENTS``, and a JSON post to the webhook Connection named by ``ALERT_WEBHOOK_CONN_ID`` if any.

Called from failure callbacks (task process), the digest task and deadline callbacks (triggerer, in a thread).
Nothing here raises for a missing recipient list: an unset Variable means "no mail", said in the log.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from ocw_operators.alerts.messages import Email, Link
from ocw_operators.settings import setting

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"
WEBHOOK_TIMEOUT_S = 15


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
    return {
        "text": "\n".join(lines),
        "kind": kind,
        "subject": email.subject,
        "facts": facts,
        "links": [{"label": link.label, "url": link.url} for link in links],
    }


class WebhookError(RuntimeError):
    """The webhook did not take the alert; the message never contains its URL (a webhook URL is a credential)."""


def webhook_url(conn_id: str) -> str:
    """The Connection's URL: its host when that is a whole URL (``https://hooks.slack.com/services/...``), else
    ``<schema or https>://<host>[:<port>]`` followed by the extra field ``path``."""
    conn = BaseHook.get_connection(conn_id)
    host = (conn.host or "").strip()
    if "://" in host:
        return host
    port = f":{conn.port}" if conn.port else ""
    return f"{conn.schema or 'https'}://{host}{port}{conn.extra_dejson.get('path', '')}"


def post_webhook(conn_id: str, payload: dict[str, Any]) -> None:
    """POST ``payload`` as JSON to the webhook Connection's URL (masked in logs, never in an error message)."""
    url = webhook_url(conn_id)
    mask_secret(url)
    try:
        response = requests.post(url, json=payload, timeout=WEBHOOK_TIMEOUT_S)
    except requests.RequestException as error:
        raise WebhookError(f"webhook Connection {conn_id}: {type(error).__name__}") from None
    if response.status_code >= 300:
        raise WebhookError(f"webhook Connection {conn_id} answered HTTP {response.status_code}")


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
            log.error("Alert webhook failed: %s", error if isinstance(error, WebhookError) else type(error).__name__)
            failure = error
    if not sent and failure is not None:
        raise failure
    return sent
