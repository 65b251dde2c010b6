"""Who may see and change what: Airflow's own user resolution and auth manager, and cross-site request checks.

A request's user comes from Airflow's :func:`~airflow.api_fastapi.core_api.security.get_user` (a Bearer token, or
the UI's JWT cookie); a page asks the configured auth manager whether that user may read every DAG whose work the
page shows, and acknowledging a flag asks for edit access. A POST must come from a page of this server (its Origin,
or else its Referer, names this host) and carry a token derived from the caller's own credential, which another
site can neither read nor compute.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status

from ocw_operators.web.links import configured_base_url

ResourceMethod = str


def user_name(user) -> str:
    return str(user.get_name() if hasattr(user, "get_name") else getattr(user, "username", "")) or "unknown"


def _team_name(dag_id: str) -> str | None:
    from airflow.configuration import conf  # noqa: PLC0415
    from airflow.models.dag import DagModel  # noqa: PLC0415

    if not conf.getboolean("core", "multi_team", fallback=False):
        return None  # without teams there is nothing to look up
    return DagModel.get_team_name(dag_id)


def may_access_dags(user, dag_ids: Iterable[str], method: ResourceMethod = "GET", *, runs: bool = False) -> bool:
    """Whether the auth manager lets ``user`` use ``method`` on every one of ``dag_ids`` (their runs if ``runs``)."""
    from airflow.api_fastapi.app import get_auth_manager  # noqa: PLC0415
    from airflow.api_fastapi.auth.managers.models.resource_details import (  # noqa: PLC0415
        DagAccessEntity,
        DagDetails,
    )

    manager = get_auth_manager()
    entity = DagAccessEntity.RUN if runs else None
    return all(
        manager.is_authorized_dag(
            method=method, access_entity=entity, details=DagDetails(id=dag_id, team_name=_team_name(dag_id)), user=user
        )
        for dag_id in dag_ids
    )


def require_dags(user, dag_ids: Iterable[str], method: ResourceMethod = "GET", *, runs: bool = False) -> None:
    if not may_access_dags(user, dag_ids, method, runs=runs):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: your role may not do this on these DAGs")


# --- cross-site request protection -------------------------------------------------------------------------------


@cache
def _csrf_key() -> bytes:
    from airflow.configuration import conf  # noqa: PLC0415

    secret = conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret", fallback="")
    # Without a configured secret (a single dev process) a per-process key still ties tokens to the session.
    return hashlib.sha256(b"ocw-archive-csrf:" + (secret.encode() if secret else os.urandom(32))).digest()


def _credential(request: Request) -> str:
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN  # noqa: PLC0415

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN, "")


def csrf_token(request: Request) -> str:
    """The token a form of this session must send back: an HMAC of the caller's credential (JWT)."""
    return hmac.new(_csrf_key(), _credential(request).encode(), hashlib.sha256).hexdigest()


def _origin_host(value: str) -> str:
    parts = urlsplit(value)
    return parts.netloc.lower() if parts.scheme in ("http", "https") else ""


def _allowed_hosts(request: Request) -> set[str]:
    hosts = {request.headers.get("host", "").lower()}
    base = configured_base_url()
    if base:
        hosts.add(urlsplit(base).netloc.lower())
    return {host for host in hosts if host}


def check_same_origin(request: Request, token: str) -> None:
    """Refuse a state-changing request that another site could have sent: foreign or missing Origin/Referer, or a
    token that does not belong to the caller's session."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    if not source or source == "null" or _origin_host(source) not in _allowed_hosts(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: cross-site request")
    if not _credential(request) or not hmac.compare_digest(token or "", csrf_token(request)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: the form token is missing or stale")
