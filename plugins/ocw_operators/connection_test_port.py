"""Let the UI's connection Test button work for Connections without a port (Airflow 3.3.2).

The Connections list's Test button posts ``port: Number(connection.port)``, which is ``0`` for a Connection without
a port. ``POST /api/v2/connections/test`` compares that with the stored ``NULL``, decides the test points at another
destination, and refuses to reuse the stored (masked) password: HTTP 400 "The host or port to test differs from the
stored connection". Every Connection of this package's types has no port (full URLs in host; the archive DB hides
the field), so the button could never succeed. Airflow fixed the comparison after 3.3.2
(https://github.com/apache/airflow/pull/73298: port 0 counts as no port); until the pinned version has it, this
middleware (registered by ``plugins/ocw_connection_test.py``) turns ``"port": 0`` in that one request into
``"port": null``, which is what the fix does. A port that differs from a stored one still needs credentials.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEST_PATH = "/api/v2/connections/test"
MAX_BODY_BYTES = 1024 * 1024  # a Connection; anything larger is passed on untouched


def portless_test_body(body: bytes) -> bytes:
    """``body`` with ``"port": 0`` replaced by ``null``; anything else (not JSON, other ports) unchanged."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict) or payload.get("port") != 0 or isinstance(payload.get("port"), bool):
        return body
    payload["port"] = None
    return json.dumps(payload).encode()


class PortlessConnectionTestMiddleware:
    """ASGI middleware applying :func:`portless_test_body` to ``POST /api/v2/connections/test`` only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith(TEST_PATH):
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see that
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if size <= MAX_BODY_BYTES:
            body = portless_test_body(body)
        headers = [(name, value) for name, value in scope.get("headers", []) if name.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        request = {"type": "http.request", "body": body, "more_body": False}
        await self.app({**scope, "headers": headers}, _replay([request], None, receive), send)


def _replay(messages: list[Message], last: Message | None, receive: Receive) -> Receive:
    pending = [*messages, *([last] if last is not None else [])]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
