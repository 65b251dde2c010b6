"""Fault injection shared by every sandbox HTTP service.

A fault is keyed by route name and fires ``times`` times (``None``: until cleared). Kinds:

* ``status``: answer with ``status``, ``body`` and ``headers`` instead of the real handler;
* ``hang``: hold the request ``seconds`` (default one hour) without answering;
* ``reset``: drop the TCP connection without a response;
* ``delay``: wait ``seconds`` and then answer normally;
* ``replace``: let the real handler do its work, then answer with ``status``, ``body`` and ``headers`` instead
  (a gateway that gave up waiting while the service behind it finished, e.g. a 504 after a deposit landed).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FAULT_KINDS = {"status", "hang", "reset", "delay", "replace"}
CONTROL_PREFIX = "/_sandbox"


@dataclass
class Fault:
    route: str
    kind: str
    times: int | None = 1
    status: int = 500
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")


class FaultPlan:
    """Thread-safe: tests add faults from their own thread while the server loop consumes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[str] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.route in (route, "*"):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    self.fired.append(f"{route}:{fault.kind}")
                    return fault
        return None


SERVICE_NAME = web.AppKey("service_name", str)
FAULTS = web.AppKey("faults", FaultPlan)


async def apply_fault(request: web.Request, fault: Fault) -> web.StreamResponse | None:
    """Act out ``fault``; return a response to send, or None to continue to the real handler."""
    if fault.kind == "delay":
        await asyncio.sleep(fault.seconds)
        return None
    if fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
        raise web.HTTPGatewayTimeout()
    if fault.kind == "reset":
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()
    return web.Response(status=fault.status, text=fault.body, headers=fault.headers)


def route_name(request: web.Request) -> str:
    route = request.match_info.route
    return route.name or request.path


@web.middleware
async def fault_middleware(request: web.Request, handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    fault = request.app[FAULTS].take(route_name(request))
    if fault is not None and fault.kind == "replace":
        with contextlib.suppress(web.HTTPException):  # the real answer is dropped either way
            await handler(request)
        return web.Response(status=fault.status, text=fault.body, headers=fault.headers)
    if fault is not None:
        response = await apply_fault(request, fault)
        if response is not None:
            return response
    return await handler(request)


async def _post_fault(request: web.Request) -> web.Response:
    payload: dict[str, Any] = await request.json()
    try:
        request.app[FAULTS].add(Fault(**payload))
    except (TypeError, ValueError) as error:
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response({"ok": True})


async def _ready(request: web.Request) -> web.Response:
    return web.json_response({"service": request.app[SERVICE_NAME], "ready": True})


async def _delete_faults(request: web.Request) -> web.Response:
    request.app[FAULTS].clear()
    return web.json_response({"ok": True})


def make_app(
    name: str, *, client_max_size: int = 1024**2, handler_args: Mapping[str, Any] | None = None
) -> web.Application:
    """An aiohttp application with fault injection and the ``/_sandbox/faults`` control routes.

    ``handler_args`` go to aiohttp's request handler, e.g. ``{"handler_cancellation": True}`` to stop a
    handler as soon as its client disconnects.
    """
    app = web.Application(middlewares=[fault_middleware], client_max_size=client_max_size, handler_args=handler_args)
    app[SERVICE_NAME] = name
    app[FAULTS] = FaultPlan()
    app.router.add_post(f"{CONTROL_PREFIX}/faults", _post_fault)
    app.router.add_delete(f"{CONTROL_PREFIX}/faults", _delete_faults)
    app.router.add_get(f"{CONTROL_PREFIX}/ready", _ready)
    return app
