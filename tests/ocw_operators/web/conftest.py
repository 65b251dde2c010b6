"""Airflow's own API app (the plugin mounted by the plugin loader) with SimpleAuthManager users of each role."""

from __future__ import annotations

import pytest

JWT_SECRET = "ocw-archive-views-test-jwt-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def api(airflow_db):
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "viewer:viewer,editor:user")
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
        from airflow.api_fastapi.app import create_app

        with TestClient(create_app(), base_url="http://testserver") as client:
            yield client


def token_for(role: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=role, role=role))


@pytest.fixture
def as_role(api):
    """``as_role("viewer")``: the client carrying that user's UI cookie (``_token``), as a browser would."""

    def login(role: str | None):
        api.cookies.clear()
        if role:
            api.cookies.set("_token", token_for(role))
        return api

    yield login
    api.cookies.clear()
