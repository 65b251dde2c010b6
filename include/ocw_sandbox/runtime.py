"""Run sandbox aiohttp applications on 127.0.0.1 in a background event-loop thread."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"  # only inside the compose sandbox container
CONTAINER_FLAG = "OCW_SANDBOX_IN_CONTAINER"


def _check_bind_address(host: str) -> None:
    if host not in (LOOPBACK, "localhost") and not (host == ALL_INTERFACES and os.environ.get(CONTAINER_FLAG) == "1"):
        raise ValueError(
            f"sandbox servers bind to the loopback interface only (inside a container set {CONTAINER_FLAG}=1)"
        )


class SandboxRuntime:
    """Owns one event loop thread; ``serve`` binds an app and returns its port.

    Used directly by tests (in-process, ephemeral ports) and by ``python -m ocw_sandbox serve``.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ocw-sandbox", daemon=True)
        self._runners: list[web.AppRunner] = []
        self._servers: list[asyncio.Server] = []
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def serve(self, app: web.Application, port: int = 0, host: str = LOOPBACK) -> int:
        return self.serve_many(app, [port], host=host)[0]

    def serve_many(self, app: web.Application, ports: list[int], host: str = LOOPBACK) -> list[int]:
        """Bind one application on several ports (each port is a distinct "host" for the link farm)."""
        _check_bind_address(host)
        return self.run(self._start(app, ports, host))

    def serve_protocol(self, protocol_factory: Callable[[], asyncio.BaseProtocol], port: int = 0,
                       host: str = LOOPBACK) -> int:  # fmt: skip
        """Bind a plain asyncio protocol (the SMTP server) and return its port."""
        _check_bind_address(host)

        async def _start() -> int:
            server = await self.loop.create_server(protocol_factory, host, port, reuse_address=True)
            self._servers.append(server)
            return server.sockets[0].getsockname()[1]

        return self.run(_start())

    async def _start(self, app: web.Application, ports: list[int], host: str) -> list[int]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        self._runners.append(runner)
        bound = []
        for port in ports:
            site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
            await site.start()
            bound.append(site._server.sockets[0].getsockname()[1])
        return bound

    def close(self) -> None:
        async def _cleanup() -> None:
            for server in self._servers:
                server.close()
            for runner in reversed(self._runners):
                await runner.cleanup()

        try:
            self.run(_cleanup(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
