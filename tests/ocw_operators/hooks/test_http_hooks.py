"""The CMS, SWORD, OAI-PMH and Wayback hooks are HttpHooks whose Connection configures one session, and whose
Connection fields and credentials never travel as request headers (HttpHook sends every extra key it does not know as
one), nor appear in a log line or a message."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import certifi
import pytest
import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import BaseHook
from airflow.sdk.definitions.connection import Connection
from airflow.sdk.exceptions import AirflowException
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from ocw_operators.connection_forms import CONNECTION_FORMS
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.hooks.dspace_oai import DSpaceOaiHook
from ocw_operators.hooks.dspace_sword import DSpaceSwordHook
from ocw_operators.hooks.http_base import transport_from_extra
from ocw_operators.hooks.ocw_cms import OcwCmsHook
from ocw_operators.hooks.wayback import WaybackHook
from tests.connections import define_connection

HTTP_HOOKS = [OcwCmsHook, DSpaceSwordHook, DSpaceOaiHook, WaybackHook]
LOGIN, PASSWORD = "archive-engine", "conn-Pa55word-n0t-a-header"
HEADER_SECRET = "hdr-api-key-s3cret"
# Written into extra by hand: not a field of any form, so nothing may send it anywhere.
UNDECLARED = {"api_password": "undeclared-s3cret-value", "X-Undeclared": "undeclared-header-value"}
EXTRAS = {
    "ocw_cms": {"auth_style": "query", "read_timeout": 10},
    "dspace_sword": {"sword_version": 2, "collections": {"history": "1721.1/33971"}, "on_behalf_of": "publisher"},
    "dspace_oai": {"set_spec": "col_1721.1_33971", "max_503_retries": 0},
    "wayback_spn2": {"timeout": 10},
}
SESSION_FIELDS = {"headers": {"X-Archive-Client": "ocw-archive", "X-Api-Key": HEADER_SECRET}, "verify": True}


def form_of(hook_class):
    return next(form for form in CONNECTION_FORMS if form.conn_type == hook_class.conn_type)


def set_connection(monkeypatch, hook_class, host: str, extra: dict) -> None:
    define_connection(
        monkeypatch,
        hook_class.default_conn_name,
        hook_class.conn_type,
        host=host,
        login=LOGIN,
        password=PASSWORD,
        extra=extra,
    )


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request plausibly and remembers its request line and headers."""

    answers = {"/retirement_queue": b'{"courses": []}', "/save/status": b"[]"}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.requests.append({"line": self.requestline, "headers": dict(self.headers.items())})
        body = next((answer for path, answer in self.answers.items() if self.path.startswith(path)), b"ok")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def masked(monkeypatch) -> list[str]:
    values: list[str] = []
    monkeypatch.setattr("ocw_operators.hooks.http_base.mask_secret", values.append)
    return values


@pytest.mark.parametrize("hook_class", HTTP_HOOKS)
def test_every_http_hook_is_an_http_hook(hook_class):
    assert issubclass(hook_class, HttpHook)
    assert form_of(hook_class).hook_class_name == f"{hook_class.__module__}.{hook_class.__qualname__}"


def test_the_archive_db_hook_is_not_an_http_hook():
    assert issubclass(ArchiveDbHook, BaseHook) and not issubclass(ArchiveDbHook, HttpHook)


def assert_nothing_but_the_session_fields_sent(requests_seen: list[dict], conn_type: str) -> None:
    """No header is named after an extra field or carries a Connection value; the declared headers are sent."""
    field_names = {field.name.lower().replace("_", "-") for field in form_of(OcwCmsHook).fields}
    for form in CONNECTION_FORMS:
        field_names |= {field.name.lower().replace("_", "-") for field in form.fields}
    field_names -= {"headers"}  # not a header's name here: the name of the mapping of headers to send
    field_names |= {name.lower().replace("_", "-") for name in UNDECLARED}
    basic = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    assert requests_seen, "the hook reached the server"
    for request in requests_seen:
        headers = {name.lower(): value for name, value in request["headers"].items()}
        assert not set(headers) & field_names, (conn_type, request)
        assert headers["x-archive-client"] == "ocw-archive"
        assert headers["x-api-key"] == HEADER_SECRET
        for name, value in headers.items():
            assert not any(secret in value for secret in UNDECLARED.values()), (conn_type, name)
            if name != "authorization":  # the protocol's own credentials travel only there
                assert PASSWORD not in value and basic not in value, (conn_type, name)
        if conn_type in ("dspace_sword", "dspace_oai"):
            assert headers["authorization"] == f"Basic {basic}"
        elif conn_type == "wayback_spn2":
            assert headers["authorization"] == f"LOW {LOGIN}:{PASSWORD}"
        else:  # the CMS's query style sends the credentials in the query string
            assert "authorization" not in headers, (conn_type, request)


@pytest.mark.parametrize("hook_class", HTTP_HOOKS)
def test_extras_never_become_headers_and_credentials_stay_out_of_logs(
    hook_class, recorder, masked, monkeypatch, caplog
):
    extra = {**EXTRAS[hook_class.conn_type], **SESSION_FIELDS, **UNDECLARED}
    set_connection(monkeypatch, hook_class, f"http://127.0.0.1:{recorder.server_port}", extra)
    with caplog.at_level(logging.DEBUG):
        ok, message = hook_class().test_connection()
    if hook_class is not DSpaceOaiHook:  # the recorder answers OAI-PMH's Identify with plain text
        assert ok, message
    assert_nothing_but_the_session_fields_sent(recorder.requests, hook_class.conn_type)
    for text in (message, caplog.text):
        assert PASSWORD not in text and HEADER_SECRET not in text
        assert not any(secret in text for secret in UNDECLARED.values())
    assert HEADER_SECRET in masked, "a header named like a credential is masked in task logs"
    assert "extra ['X-Undeclared', 'api_password'] not used" in caplog.text, "a hand-written key is named, not sent"


def test_the_async_session_sends_what_the_blocking_one_sends(recorder, masked, monkeypatch):
    extra = {**EXTRAS["wayback_spn2"], **SESSION_FIELDS, **UNDECLARED}
    set_connection(monkeypatch, WaybackHook, f"http://127.0.0.1:{recorder.server_port}", extra)
    assert asyncio.run(WaybackHook().ajob_statuses(["spn2-abc"])) == []
    assert_nothing_but_the_session_fields_sent(recorder.requests, "wayback_spn2")
    assert HEADER_SECRET in masked


@pytest.mark.parametrize("hook_class", HTTP_HOOKS)
def test_http_hooks_own_session_step_never_turns_extras_into_headers(hook_class, monkeypatch):
    extra = {**EXTRAS[hook_class.conn_type], **SESSION_FIELDS, **UNDECLARED}
    connection = Connection(conn_id="c", conn_type=hook_class.conn_type, host="https://h", extra=json.dumps(extra))
    # HttpHook's own step, which get_conn() of an http Connection runs: every undeclared key becomes a header.
    plain = HttpHook()._configure_session_from_extra(requests.Session(), connection, {})
    assert plain.headers["api_password"] == UNDECLARED["api_password"], "the trap this package's hooks avoid"
    session = hook_class()._configure_session_from_extra(requests.Session(), connection, {})
    assert session.headers["X-Archive-Client"] == "ocw-archive"
    sent = {name.lower() for name in session.headers}
    assert not sent & {name.lower() for name in (*UNDECLARED, *EXTRAS[hook_class.conn_type], "headers", "verify")}


@pytest.mark.parametrize("hook_class", HTTP_HOOKS)
def test_get_conn_reads_the_connection_once_and_keeps_its_client(hook_class, monkeypatch):
    set_connection(monkeypatch, hook_class, "https://example.edu", EXTRAS[hook_class.conn_type])
    hook = hook_class()
    reads = []
    original = hook.get_connection
    monkeypatch.setattr(hook, "get_connection", lambda conn_id: reads.append(conn_id) or original(conn_id))
    client = hook.get_conn()
    assert hook.get_conn() is client
    assert reads == [hook_class.default_conn_name]
    # Configured the way HttpHook.get_conn() configures a session: base URL, keep-alive adapters, auth.
    assert hook.base_url == "https://example.edu"
    assert isinstance(client.session.get_adapter("https://example.edu/"), TCPKeepAliveAdapter)
    expected_auth = (LOGIN, PASSWORD) if hook_class in (DSpaceSwordHook, DSpaceOaiHook) else None
    assert client.session.auth == expected_auth
    assert client.session.trust_env is (hook_class in (DSpaceOaiHook, WaybackHook))


def test_a_ca_bundle_is_verified_against_unless_verification_is_off(monkeypatch):
    extra = {**EXTRAS["dspace_oai"], "ca_bundle": certifi.where()}
    set_connection(monkeypatch, DSpaceOaiHook, "https://example.edu/oai/request", extra)
    assert DSpaceOaiHook().get_conn().session.verify == certifi.where()
    set_connection(monkeypatch, DSpaceOaiHook, "https://example.edu/oai/request", {**extra, "verify": "false"})
    assert DSpaceOaiHook().get_conn().session.verify is False


def test_the_async_session_takes_the_proxy_timeouts_and_tls_of_the_connection(monkeypatch):
    proxies = {"http": "http://plain-proxy:3128", "https": "http://tls-proxy:3128"}
    extra = {"timeout": 12.5, "proxies": proxies, "ca_bundle": certifi.where(), "headers": {"X-A": "b"}}
    set_connection(monkeypatch, WaybackHook, "https://web.archive.org", extra)

    async def session_of_the_client():
        async with await WaybackHook().aget_client() as client:
            return client.session

    session = asyncio.run(session_of_the_client())
    assert (session.timeout.total, session.timeout.connect) == (12.5, 10.0)
    assert str(session._default_proxy) == "http://tls-proxy:3128"
    assert session.headers["X-A"] == "b" and session.auth is None
    assert session.closed, "the client closes its session"


def test_credential_headers_and_proxy_passwords_are_masked_and_bad_values_named(masked):
    extra = {
        "headers": {"Authorization": "Bearer t0ken-value", "X-Api-Key": "k3y-value", "Accept-Language": "en"},
        "proxies": {"https": "http://proxy-user:proxy-pw-value@proxy.example.edu:3128"},
        "verify": True,
        "ca_bundle": None,
    }
    transport = transport_from_extra("c", extra)
    assert masked == ["Bearer t0ken-value", "k3y-value", "proxy-pw-value"]
    assert transport.headers == extra["headers"] and transport.verify is True
    with pytest.raises(AirflowException) as refused:
        set_bad = {**EXTRAS["ocw_cms"], "headers": {"X-Api-Key": 12345678}}
        connection = Connection(conn_id="ocw_cms_default", conn_type="ocw_cms", host="https://h", login="u",
                                password="p", extra=json.dumps(set_bad))  # fmt: skip
        OcwCmsHook().read_extra(connection)
    assert "extra.headers must map names to text" in str(refused.value)
    assert "12345678" not in str(refused.value)
