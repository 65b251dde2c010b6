"""Airflow plugin: the api-server middleware that lets the Connections list's Test button test portless Connections.

See :mod:`ocw_operators.connection_test_port`; delete this file once the pinned Airflow compares port 0 as no port.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from ocw_operators.connection_test_port import PortlessConnectionTestMiddleware


class OcwConnectionTestPlugin(AirflowPlugin):
    name = "ocw_connection_test"
    fastapi_root_middlewares = [
        {"middleware": PortlessConnectionTestMiddleware, "args": [], "kwargs": {}, "name": "Portless connection test"}
    ]
