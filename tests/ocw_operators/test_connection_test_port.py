"""The api-server middleware that lets the Test button test Connections without a port."""

from __future__ import annotations

import asyncio
import json

import pytest

from ocw_operators.connection_test_port import PortlessConnectionTestMiddleware, portless_test_body


@pytest.mark.parametrize(
    ("body", "expected_port"),
    [
        ({"connection_id": "c", "conn_type": "dspace_sword", "port": 0, "password": "***"}, None),
        ({"connection_id": "c", "port": 8443}, 8443),
        ({"connection_id": "c", "port": None}, None),
        ({"connection_id": "c", "port": False}, False),
    ],
)
def test_only_port_zero_becomes_no_port(body, expected_port):
    changed = json.loads(portless_test_body(json.dumps(body).encode()))
    assert changed == {**body, "port": expected_port}


@pytest.mark.parametrize("body", [b"", b"not json", b"[0]", b'{"connection_id": "c"}'])
def test_other_bodies_pass_unchanged(body):
    assert portless_test_body(body) is body


def run(path: str, method: str, chunks: list[bytes]) -> dict:
    """Drive the ASGI middleware by hand; return what the wrapped app received."""

    seen = {}

    async def inner(scope, receive, send):
        message, body = {"more_body": True}, b""
        while message.get("more_body"):
            message = await receive()
            body += message.get("body", b"")
        seen.update(path=scope["path"], body=body, headers=dict(scope["headers"]))

    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        return messages.pop(0)

    async def send(_message):
        return None

    scope = {"type": "http", "method": method, "path": path, "headers": [(b"content-length", b"999")]}
    asyncio.run(PortlessConnectionTestMiddleware(inner)(scope, receive, send))
    return seen


def test_the_middleware_rewrites_only_the_connection_test_request():
    # The body arrives in two chunks; the app gets it whole, with a matching Content-Length.
    body = json.dumps({"connection_id": "c", "port": 0}).encode()
    seen = run("/api/v2/connections/test", "POST", [body[:10], body[10:]])
    assert json.loads(seen["body"]) == {"connection_id": "c", "port": None}
    assert seen["headers"][b"content-length"] == str(len(seen["body"])).encode()
    untouched = run("/api/v2/connections", "POST", [body])
    assert untouched["body"] == body and untouched["headers"][b"content-length"] == b"999"
