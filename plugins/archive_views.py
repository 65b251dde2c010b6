"""Airflow plugin: the Archive pages (link health, retirements, OAI-PMH, Tivoli) and each run's tab in the UI.

The pages are served by a FastAPI app on the API server (``/archive``); ``external_views`` add an *Archive* entry
to the navigation and an *Archive* tab on every DAG run page (the run tab says what the run did, or that its DAG
records nothing in the archive). The code lives in :mod:`ocw_operators.web`.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from ocw_operators.web.links import URL_PREFIX, archive_base_path

ARCHIVE_ICON = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' "
    "stroke='%23718096' stroke-width='2'><rect x='3' y='4' width='18' height='5' rx='1'/>"
    "<path d='M5 9v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V9M10 13h4'/></svg>"
)


class ArchiveApp:
    """The Archive ASGI app, built on its first request.

    Airflow imports every plugin in each task process too (for macros), where the web app and the API server's
    security module would only cost import time; the API server mounts this object and builds the app once.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self._app is None:
            from ocw_operators.web.app import create_app  # noqa: PLC0415

            self._app = create_app()
        await self._app(scope, receive, send)


# Each view needs its own url_route: Airflow keeps only the first view of a route.
class ArchiveViewsPlugin(AirflowPlugin):
    name = "archive_views"
    fastapi_apps = [{"app": ArchiveApp(), "url_prefix": URL_PREFIX, "name": "Archive"}]
    external_views = [
        {
            "name": "Archive",
            "href": f"{archive_base_path()}/links",
            "destination": "nav",
            "url_route": "archive",
            "icon": ARCHIVE_ICON,
        },
        {
            "name": "Archive",
            "href": f"{archive_base_path()}/runs/{{DAG_ID}}/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "archive-run",
            "icon": ARCHIVE_ICON,
        },
    ]
