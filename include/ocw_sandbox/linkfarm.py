"""A farm of web hosts, well- and badly-behaved, for testing and benchmarking the link checker.

One application is bound on many ports (``SandboxRuntime.serve_many``); each port plays one "host"
(``http://127.0.0.1:<port>``). Every path answers any method:

=====================  ====================================================================================
``/ok``                200
``/status/<code>``     that status (200-599)
``/redirect/<n>``      ``n`` hops of 302 (relative Location, query string kept), then 200
``/redirect-loop``     302 to itself, forever
``/head-405``          405 to HEAD, 200 to GET (servers that refuse HEAD)
``/head-501``          501 to HEAD, 200 to GET (servers that never implemented HEAD)
``/big``               405 to HEAD; GET streams a 256 MiB body (proves a GET fallback does not download it)
``/hang``              no answer until the client gives up (at most ``MAX_HOLD_S``, then 504)
``/reset``             drops the TCP connection without answering
``/slow/<ms>``         200 after ``ms`` milliseconds (at most ``MAX_HOLD_S``)
=====================  ====================================================================================

``latency_s`` is added to every request. Handlers stop as soon as their client disconnects, so a client that
gives up on ``/hang`` frees the server at once. ``GET /_sandbox/stats`` reports, per port, the requests
currently in flight, the most seen at once and the request count (``DELETE`` resets them); that is how tests
and the benchmark see the checker's politeness from the server side. Route names are the targets for
``POST /_sandbox/faults``: the path without its parameters (``ok``, ``status``, ``redirect``, ``redirect-loop``,
``big``, ``hang``, ``reset``, ``slow``), except ``head_405`` and ``head_501`` (aiohttp route names).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from ocw_sandbox.faults import CONTROL_PREFIX, Fault, apply_fault, make_app

MAX_HOLD_S = 120.0  # /hang and /slow never pin a server task for longer than this
MAX_REDIRECT_HOPS = 100
BIG_BODY_BYTES = 256 * 1024**2
BIG_CHUNK = b"\0" * (64 * 1024)


@dataclass
class PortStats:
    in_flight: int = 0
    max_in_flight: int = 0
    requests: int = 0


@dataclass
class FarmStats:
    """Counters kept by the server loop (only ever touched from that loop's thread)."""

    ports: dict[int, PortStats] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    big_bytes_sent: int = 0
    big_bodies_completed: int = 0

    def enter(self, port: int) -> None:
        stats = self.ports.setdefault(port, PortStats())
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self, port: int) -> None:
        self.ports[port].in_flight -= 1
        self.in_flight -= 1

    def reset(self) -> None:
        """Zero the history; requests still in flight stay counted so the gauges remain true."""
        for stats in self.ports.values():
            stats.requests = 0
            stats.max_in_flight = stats.in_flight
        self.max_in_flight = self.in_flight
        self.big_bytes_sent = 0
        self.big_bodies_completed = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "ports": {str(port): asdict(stats) for port, stats in sorted(self.ports.items())},
            "requests": sum(stats.requests for stats in self.ports.values()),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_in_flight_per_port": max((s.max_in_flight for s in self.ports.values()), default=0),
            "big_bytes_sent": self.big_bytes_sent,
            "big_bodies_completed": self.big_bodies_completed,
        }


STATS = web.AppKey("linkfarm_stats", FarmStats)
LATENCY_S = web.AppKey("linkfarm_latency_s", float)


def _local_port(request: web.Request) -> int:
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return int(sockname[1]) if sockname else 0


@web.middleware
async def _count_and_delay(request: web.Request, handler) -> web.StreamResponse:
    """Outermost middleware: count every farm request per port, then add the configured latency."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    stats = request.app[STATS]
    port = _local_port(request)
    stats.enter(port)
    try:
        if request.app[LATENCY_S] > 0:
            await asyncio.sleep(request.app[LATENCY_S])
        return await handler(request)
    finally:
        stats.leave(port)


def _with_query(request: web.Request, path: str) -> str:
    return f"{path}?{request.query_string}" if request.query_string else path


def _refuse_head(status: int):
    async def handler(request: web.Request) -> web.Response:
        if request.method == "HEAD":
            return web.Response(status=status, headers={"Allow": "GET"})
        return web.Response(text="ok\n")

    return handler


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    if not 200 <= code <= 599:
        return web.Response(status=400, text="status must be 200-599\n")
    return web.Response(status=code)


async def _redirect(request: web.Request) -> web.Response:
    hops = int(request.match_info["hops"])
    if hops > MAX_REDIRECT_HOPS:
        return web.Response(status=400, text=f"at most {MAX_REDIRECT_HOPS} hops\n")
    if hops == 0:
        return web.Response(text="ok\n")
    return web.Response(status=302, headers={"Location": _with_query(request, f"/redirect/{hops - 1}")})


async def _redirect_loop(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": _with_query(request, "/redirect-loop")})


async def _big(request: web.Request) -> web.StreamResponse:
    if request.method == "HEAD":
        return web.Response(status=405, headers={"Allow": "GET"})
    stats = request.app[STATS]
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = BIG_BODY_BYTES
    await response.prepare(request)
    sent = 0
    try:
        while sent < BIG_BODY_BYTES:
            chunk = BIG_CHUNK[: BIG_BODY_BYTES - sent]
            await response.write(chunk)  # waits while the client is not reading
            sent += len(chunk)
        await response.write_eof()
        stats.big_bodies_completed += 1
    finally:
        stats.big_bytes_sent += sent
    return response


async def _hang(request: web.Request) -> web.Response:
    await asyncio.sleep(MAX_HOLD_S)  # cancelled as soon as the client disconnects
    return web.Response(status=504, text="gave up waiting for the client to give up\n")


async def _reset(request: web.Request) -> web.StreamResponse:
    await apply_fault(request, Fault(route="reset", kind="reset"))
    raise AssertionError("a reset fault never returns")  # pragma: no cover


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(min(int(request.match_info["ms"]) / 1000, MAX_HOLD_S))
    return web.Response(text="ok\n")


async def _get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].snapshot())


async def _reset_stats(request: web.Request) -> web.Response:
    request.app[STATS].reset()
    return web.json_response({"ok": True})


def make_linkfarm_app(latency_s: float = 0.0) -> web.Application:
    """The link farm; bind it on as many ports as you want hosts (state lives on the app, shared by all ports)."""
    if latency_s < 0:
        raise ValueError("latency_s must not be negative")
    # handler_cancellation: a client that gives up (timeout, reset) ends its handler at once, so the
    # in-flight counters describe connected clients and /hang holds nothing after the client leaves.
    app = make_app("linkfarm", handler_args={"handler_cancellation": True})
    app.middlewares.insert(0, _count_and_delay)  # outermost, so faulted requests are counted too
    app[STATS] = FarmStats()
    app[LATENCY_S] = float(latency_s)
    routes = [
        ("/ok", _ok, "ok"),
        ("/status/{code:\\d{1,3}}", _status, "status"),
        ("/redirect/{hops:\\d{1,4}}", _redirect, "redirect"),
        ("/redirect-loop", _redirect_loop, "redirect-loop"),
        ("/head-405", _refuse_head(405), "head_405"),
        ("/head-501", _refuse_head(501), "head_501"),
        ("/big", _big, "big"),
        ("/hang", _hang, "hang"),
        ("/reset", _reset, "reset"),
        ("/slow/{ms:\\d{1,9}}", _slow, "slow"),
    ]
    for path, handler, name in routes:
        app.router.add_route("*", path, handler, name=name)
    app.router.add_get(f"{CONTROL_PREFIX}/stats", _get_stats)
    app.router.add_delete(f"{CONTROL_PREFIX}/stats", _reset_stats)
    return app
