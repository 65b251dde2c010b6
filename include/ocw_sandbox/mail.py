"""A sandbox mail server: SMTP (aiosmtpd) that keeps every message it receives, and a page listing them.

Each message is written as ``<number>.eml`` in the mailbox folder, exactly as it arrived (plus the envelope in
``<number>.json``), so a demo or a test can open what an operator would have received. The HTTP app lists them:

- ``GET /``: an HTML table (newest first) with links to each message;
- ``GET /messages.json``: the same list as JSON (envelope, subject, date, file name);
- ``GET /messages/<number>.eml``: the raw message; ``GET /messages/<number>``: its text and HTML parts;
- ``DELETE /messages``: empty the mailbox (tests); ``GET /_sandbox/ready``.

The SMTP side needs no TLS and accepts AUTH PLAIN/LOGIN without it (a local sandbox; never a relay): when
credentials are configured only those are accepted, as a real server would refuse a wrong password.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import json
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from ocw_sandbox.faults import CONTROL_PREFIX


@dataclass(frozen=True)
class StoredMail:
    number: int
    mail_from: str
    recipients: list[str]
    subject: str
    date: str
    path: Path

    def summary(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "from": self.mail_from,
            "to": self.recipients,
            "subject": self.subject,
            "date": self.date,
            "file": self.path.name,
        }


class Mailbox:
    """The received messages, one ``.eml`` file each, numbered in arrival order (survives a restart)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _numbers(self) -> list[int]:
        return sorted(int(path.stem) for path in self.directory.glob("*.eml") if path.stem.isdigit())

    def store(self, mail_from: str, recipients: list[str], content: bytes) -> StoredMail:
        with self._lock:
            number = (self._numbers() or [0])[-1] + 1
            path = self.directory / f"{number}.eml"
            partial = path.with_suffix(".partial")
            partial.write_bytes(content)
            (self.directory / f"{number}.json").write_text(json.dumps({"from": mail_from, "to": recipients}))
            partial.replace(path)  # last: a listed .eml is always complete
        return self.get(number)

    def get(self, number: int) -> StoredMail:
        path = self.directory / f"{number}.eml"
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        envelope_file = path.with_suffix(".json")
        envelope = json.loads(envelope_file.read_text()) if envelope_file.exists() else {"from": "", "to": []}
        return StoredMail(
            number, envelope["from"], envelope["to"], str(message["Subject"] or ""), str(message["Date"] or ""), path
        )

    def messages(self) -> list[StoredMail]:
        return [self.get(number) for number in self._numbers()]

    def clear(self) -> None:
        with self._lock:
            for path in [*self.directory.glob("*.eml"), *self.directory.glob("*.json")]:
                path.unlink()


class _MailHandler:
    """aiosmtpd handler: every accepted message goes into the mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        await asyncio.to_thread(
            self.mailbox.store, envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
        )
        return "250 Message accepted for delivery"


def _authenticator(login: str | None, password: str | None):
    def authenticate(server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = login is None or (auth_data.login.decode() == login and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)

    return authenticate


def smtp_protocol_factory(mailbox: Mailbox, login: str | None = None, password: str | None = None):
    """A factory for ``loop.create_server``: one aiosmtpd SMTP session per connection."""
    handler = _MailHandler(mailbox)

    def session() -> SMTP:
        with warnings.catch_warnings():
            # Login without TLS is what a loopback sandbox wants; aiosmtpd warns about it for real servers.
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(
                handler,
                hostname="ocw-sandbox-mail",
                auth_require_tls=False,
                auth_required=login is not None,
                authenticator=_authenticator(login, password),
            )

    return session


def _body_parts(path: Path) -> dict[str, str]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    parts = {}
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is not None:
            parts[kind] = part.get_content()
    return parts


def make_mail_app(mailbox: Mailbox) -> web.Application:
    """The page listing received mail (HTML and JSON) and each message."""

    async def index(request: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{mail.number}</td><td>{html.escape(mail.date)}</td><td>{html.escape(', '.join(mail.recipients))}"
            f"</td><td><a href='messages/{mail.number}'>{html.escape(mail.subject)}</a></td>"
            f"<td><a href='messages/{mail.number}.eml'>.eml</a></td></tr>"
            for mail in reversed(mailbox.messages())
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Sandbox mailbox</title></head><body>"
            f"<h1>Sandbox mailbox</h1><p>Messages received by the sandbox SMTP server, newest first; files in "
            f"<code>{html.escape(str(mailbox.directory))}</code>.</p>"
            "<table border='1' cellpadding='4'><tr><th>#</th><th>date</th><th>to</th><th>subject</th><th>raw</th>"
            f"</tr>{rows or '<tr><td colspan=5>no mail yet</td></tr>'}</table></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"messages": [mail.summary() for mail in mailbox.messages()]})

    def _number(request: web.Request) -> int:
        number = request.match_info["number"]
        if not number.isdigit() or not (mailbox.directory / f"{number}.eml").exists():
            raise web.HTTPNotFound(text="no such message")
        return int(number)

    async def raw(request: web.Request) -> web.Response:
        path = mailbox.directory / f"{_number(request)}.eml"
        return web.Response(body=path.read_bytes(), content_type="message/rfc822")

    async def show(request: web.Request) -> web.Response:
        mail = mailbox.get(_number(request))
        parts = _body_parts(mail.path)
        if "html" in parts:
            return web.Response(text=parts["html"], content_type="text/html")
        return web.Response(text=parts.get("plain", ""), content_type="text/plain")

    async def clear(request: web.Request) -> web.Response:
        mailbox.clear()
        return web.Response(status=204)

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"ready": True})

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/messages.json", listing)
    app.router.add_get(r"/messages/{number}.eml", raw)
    app.router.add_get("/messages/{number}", show)
    app.router.add_delete("/messages", clear)
    app.router.add_get(f"{CONTROL_PREFIX}/ready", ready)
    return app
