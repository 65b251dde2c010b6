"""The sandbox mail server: SMTP in, one .eml file per message, and the page and JSON listing them."""

from __future__ import annotations

import base64
import smtplib
from email.message import EmailMessage

import pytest
import requests

from ocw_sandbox.mail import Mailbox, make_mail_app, smtp_protocol_factory


@pytest.fixture
def mail_server(sandbox_runtime, tmp_path):
    mailbox = Mailbox(tmp_path / "mail")
    smtp_port = sandbox_runtime.serve_protocol(smtp_protocol_factory(mailbox, "mailer", "mail-secret"))
    page = f"http://127.0.0.1:{sandbox_runtime.serve(make_mail_app(mailbox))}"
    return mailbox, smtp_port, page


def _plain(login: str, password: str) -> str:
    return base64.b64encode(f"\0{login}\0{password}".encode()).decode()


def _message(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "archive@localhost", "ops@localhost", subject
    message.set_content("plain body")
    message.add_alternative("<p>html <b>body</b></p>", subtype="html")
    return message


def test_a_message_sent_with_the_right_login_is_kept_as_an_eml_file_and_listed(mail_server):
    mailbox, smtp_port, page = mail_server
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as client:
        client.login("mailer", "mail-secret")
        client.send_message(_message("Run failed: x"))

    [stored] = mailbox.messages()
    assert stored.path.name == "1.eml" and b"Subject: Run failed: x" in stored.path.read_bytes()
    assert stored.recipients == ["ops@localhost"] and stored.mail_from == "archive@localhost"
    listing = requests.get(f"{page}/messages.json", timeout=5).json()["messages"]
    assert [(m["subject"], m["to"], m["file"]) for m in listing] == [("Run failed: x", ["ops@localhost"], "1.eml")]
    assert "Run failed: x" in requests.get(page, timeout=5).text
    assert "html <b>body</b>" in requests.get(f"{page}/messages/1", timeout=5).text
    assert requests.get(f"{page}/messages/1.eml", timeout=5).content == stored.path.read_bytes()
    assert requests.get(f"{page}/messages/2", timeout=5).status_code == 404

    requests.delete(f"{page}/messages", timeout=5).raise_for_status()
    assert mailbox.messages() == []


def test_a_wrong_password_or_no_login_is_refused_and_nothing_is_kept(mail_server):
    mailbox, smtp_port, _ = mail_server
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as client:
        client.ehlo()
        code, _ = client.docmd("AUTH", "PLAIN " + _plain("mailer", "wrong"))
        assert code == 535
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as client, pytest.raises(smtplib.SMTPException):
        client.send_message(_message("no login"))
    assert mailbox.messages() == []


def test_make_run_names_the_mailbox_page_the_sandbox_serves():
    from ocw_sandbox.demo import PORTS
    from scripts.run_local import SANDBOX_MAILBOX_URL

    assert f"http://127.0.0.1:{PORTS['mail']}/" == SANDBOX_MAILBOX_URL


def test_the_mail_service_runs_from_the_command_line(tmp_path):
    import json
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "ocw_sandbox", "mail", "--mail-dir", str(tmp_path / "mail"),
               "--login", "mailer", "--password", "mail-secret"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        announced = json.loads(process.stdout.readline())
        with smtplib.SMTP("127.0.0.1", announced["smtp_port"], timeout=5) as client:
            client.login("mailer", "mail-secret")
            client.send_message(_message("from the command line"))
        listing = requests.get(f"{announced['page']}messages.json", timeout=5).json()["messages"]
        assert [m["subject"] for m in listing] == ["from the command line"]
        assert (tmp_path / "mail" / "1.eml").is_file()
    finally:
        process.terminate()
        process.wait(timeout=10)
