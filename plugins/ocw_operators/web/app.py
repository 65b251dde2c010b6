"""The Archive FastAPI app, mounted by the ``archive_views`` plugin on Airflow's API server under ``/archive``.

Every route resolves the user with Airflow's own dependency (Bearer token or the UI's JWT cookie: anonymous
requests get 401) and asks the auth manager for read access to the DAGs whose work the page shows (403 otherwise).
``?format=csv&table=<name>`` streams any table of a page as CSV. The archive DB is read through ``ArchiveDbHook``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from ocw_operators.web import auth, link_health, oai, render, retirements, runs, tivoli
from ocw_operators.web.links import URL_PREFIX, archive_base_path
from ocw_operators.web.tables import stream_csv
from ocw_operators.web.view import View

PAGES = {"links": link_health, "retirements": retirements, "oai": oai, "tivoli": tivoli}


# The API server's own user resolution: a Bearer token, or the UI's JWT cookie; 401 without either.
UserDep = Annotated[BaseUser, Depends(get_user)]


def archive_engine():
    from ocw_operators.hooks.archive_db import ArchiveDbHook  # noqa: PLC0415

    return ArchiveDbHook().get_conn()


def _view(request: Request, user: Any, *, can_edit: bool = False) -> View:
    base = archive_base_path()
    return View(
        engine=archive_engine(),
        params={key: value for key, value in request.query_params.items()},
        base=base,
        ui=base[: -len(URL_PREFIX)],
        user=user,
        csrf=auth.csrf_token(request) if can_edit else "",
        can_edit=can_edit,
    )


NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _csv_response(view: View, tables: dict, filename: str) -> Response:
    name = view.params.get("table", "")
    table = tables.get(name)
    if table is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no table {name!r} on this page")
    filters = {key: value for key, value in view.params.items() if "." not in key and key not in ("format", "table")}
    return StreamingResponse(
        stream_csv(view.engine, table, filters, view.params.get(f"{name}.sort")),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{_safe_name(filename)}-{name}.csv"'},
    )


def _safe_name(text: str) -> str:
    """A file name for Content-Disposition: the DAG id comes from the URL, so nothing but word characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:100]


def _html(title: str, active: str, body: str) -> HTMLResponse:
    return HTMLResponse(render.page(archive_base_path(), title, active, body), headers=NO_STORE)


def _serve(request: Request, user: Any, key: str) -> Response:
    module = PAGES[key]
    auth.require_dags(user, module.DAG_IDS)
    can_edit = key == "retirements" and auth.may_access_dags(user, retirements.DAG_IDS, "PUT")
    view = _view(request, user, can_edit=can_edit)
    if view.params.get("format") == "csv":
        return _csv_response(view, module.tables(view), key)
    return _html(module.TITLE, key, module.render_body(view))


def create_app() -> FastAPI:
    app = FastAPI(title="Archive", docs_url=None, redoc_url=None, openapi_url=None)

    def page_route(key: str) -> Callable:
        def handler(request: Request, user: UserDep) -> Response:
            return _serve(request, user, key)

        handler.__name__ = f"archive_{key}"
        return handler

    for key in PAGES:
        app.add_api_route(f"/{key}", page_route(key), methods=["GET"], response_class=HTMLResponse)

    @app.get("/", include_in_schema=False)
    def index(user: UserDep) -> Response:
        return RedirectResponse(f"{archive_base_path()}/links", status_code=status.HTTP_303_SEE_OTHER)

    @app.get("/runs/{dag_id}/{run_id:path}", response_class=HTMLResponse)
    def run_tab(request: Request, dag_id: str, run_id: str, user: UserDep) -> Response:
        auth.require_dags(user, [dag_id], runs=True)
        view = _view(request, user)
        if view.params.get("format") == "csv":
            return _csv_response(view, {t.name: t for t in runs.run_tables(view, dag_id, run_id)}, f"{dag_id}-run")
        return _html(f"Run {run_id}", "", runs.render_body(view, dag_id, run_id))

    @app.post("/retirements/acknowledge")
    def acknowledge(
        request: Request,
        user: UserDep,
        course_id: Annotated[str, Form()],
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_same_origin(request, csrf_token)
        auth.require_dags(user, retirements.DAG_IDS, "PUT")
        done = retirements.acknowledge(archive_engine(), course_id, auth.user_name(user), dt.datetime.now(dt.UTC))
        if not done:
            raise HTTPException(status.HTTP_409_CONFLICT, "no unacknowledged flag on this course")
        return RedirectResponse(_back_to(request), status_code=status.HTTP_303_SEE_OTHER)

    return app


def _back_to(request: Request) -> str:
    """The retirements page the form was on (same origin, checked above), else the plain page."""
    referer = urlsplit(request.headers.get("referer", ""))
    page = f"{archive_base_path()}/retirements"
    if referer.path == page:
        return page + (f"?{referer.query}" if referer.query else "")
    return page
