"""The connection forms and the Test button through Airflow's own API (the app the api-server runs, in-process).

The UI builds the Admin → Connections → Add form from ``GET /ui/connections/hook_meta`` and its Test button calls
``POST /api/v2/connections/test``; both are exercised here with the package's provider entry point installed.
"""

from __future__ import annotations

import json

import pytest

from ocw_operators.connection_forms import CONNECTION_FORMS
from tests.ocw_operators.retirement.sandbox_env import (
    CMS_PASSWORD,
    CMS_USER,
    COLLECTIONS,
    SWORD_PASSWORD,
    SWORD_USER,
)

STANDARD_KEYS = {"host": "host", "schema": "url_schema", "port": "port", "login": "login", "password": "password"}


@pytest.fixture(scope="module")
def api(airflow_db):
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        # What `make run` and docker-compose.yaml set; every request is an admin's, as in `airflow standalone`.
        patch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        # The execution API refuses to start without one; the config file may have been read before it had one.
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "ocw-connection-forms-test-jwt-secret-0123456789abcdef")
        from airflow.api_fastapi.app import create_app

        with TestClient(create_app()) as client:
            yield client


@pytest.fixture(scope="module")
def hook_meta(api) -> dict[str, dict]:
    response = api.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    return {meta["connection_type"]: meta for meta in response.json()}


@pytest.mark.parametrize("form", CONNECTION_FORMS, ids=lambda form: form.conn_type)
def test_every_type_lists_its_fields_with_labels(hook_meta, form):
    meta = hook_meta[form.conn_type]
    assert meta["hook_name"] == form.hook_name
    assert meta["hook_class_name"] == form.hook_class_name
    fields = meta["extra_fields"]
    assert fields is not None, f"{form.conn_type}: the form has no extra fields"
    assert list(fields) == [f.name for f in form.fields]
    for declared in form.fields:
        field = fields[declared.name]
        assert field["schema"]["title"] == declared.label
        assert field["description"] == declared.description
        assert field["value"] == declared.default
        assert field["schema"]["type"] == [declared.kind, "null"]


@pytest.mark.parametrize("form", CONNECTION_FORMS, ids=lambda form: form.conn_type)
def test_standard_fields_are_hidden_and_relabelled_as_declared(hook_meta, form):
    standard = hook_meta[form.conn_type]["standard_fields"]
    assert standard is not None
    for name, key in STANDARD_KEYS.items():
        shown = standard[key] or {"hidden": False, "title": None, "placeholder": None}
        assert shown["hidden"] is (name in form.hidden), (form.conn_type, name)
        assert shown["title"] == form.relabeling.get(name), (form.conn_type, name)
        assert shown["placeholder"] == form.placeholders.get(name), (form.conn_type, name)


def test_the_forms_say_what_each_connection_needs(hook_meta):
    sword = hook_meta["dspace_sword"]["extra_fields"]
    assert sword["sword_version"]["schema"]["enum"] == [1, 2]
    assert sword["collections"]["schema"]["type"] == ["object", "null"]
    assert hook_meta["ocw_cms"]["extra_fields"]["auth_style"]["schema"]["enum"] == ["form", "basic", "query"]
    assert hook_meta["dspace_oai"]["extra_fields"]["set_spec"]["schema"]["title"] == "Set (setSpec)"
    assert hook_meta["wayback_spn2"]["standard_fields"]["login"]["title"] == "S3 access key"
    archive = hook_meta["ocw_archive_db"]
    assert archive["extra_fields"]["sqlalchemy_url"]["schema"]["format"] == "password"
    assert archive["standard_fields"]["host"]["hidden"] is True


def test_the_ui_shows_the_test_button(api):
    assert api.get("/ui/config").json()["test_connection"] == "Enabled"


def connection_test(api, conn_type: str, **fields) -> dict:
    extra = fields.pop("extra", {})
    body = {"connection_id": f"form_test_{conn_type}", "conn_type": conn_type, "extra": json.dumps(extra), **fields}
    response = api.post("/api/v2/connections/test", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_test_button_reaches_the_sandbox_dspace(api, sandbox):
    # What the form sends: typed values, the version as the drop-down's number.
    extra = {"sword_version": 2, "collections": COLLECTIONS, "read_timeout": 10, "verbose": True}
    result = connection_test(api, "dspace_sword", host=sandbox.dspace_url, login=SWORD_USER,
                             password=SWORD_PASSWORD, extra=extra)  # fmt: skip
    assert result == {
        "status": True,
        "message": "SWORD v2 service document answered HTTP 200; 2 department(s) mapped to collections",
    }
    wrong = connection_test(api, "dspace_sword", host=sandbox.dspace_url, login=SWORD_USER,
                            password="not-the-password", extra=extra)  # fmt: skip
    assert wrong == {"status": False, "message": "SWORD v2 service document answered HTTP 401"}
    unmapped = connection_test(api, "dspace_sword", host=sandbox.dspace_url, login=SWORD_USER,
                               password=SWORD_PASSWORD, extra={"collections": {"history": "not a handle"}})  # fmt: skip
    assert unmapped["status"] is False and "collection mapping is unusable" in unmapped["message"]
    assert SWORD_PASSWORD not in json.dumps([result, wrong, unmapped])


def test_the_test_button_reaches_the_sandbox_cms(api, sandbox):
    result = connection_test(api, "ocw_cms", host=sandbox.cms_url, login=CMS_USER, password=CMS_PASSWORD,
                             extra={"auth_style": "query", "read_timeout": 10})  # fmt: skip
    assert result == {"status": True, "message": "Retirement queue holds 2 course(s)"}
    wrong = connection_test(api, "ocw_cms", host=sandbox.cms_url, login=CMS_USER, password="wrong-Pa55",
                            extra={"auth_style": "query"})  # fmt: skip
    assert wrong["status"] is False
    assert "wrong-Pa55" not in wrong["message"] and CMS_PASSWORD not in wrong["message"]


def test_the_test_button_reaches_the_sandbox_oai_and_wayback(api, sandbox, wayback_sandbox):
    oai = connection_test(api, "dspace_oai", host=sandbox.oai_url, extra={"set_spec": "com_1721.1_1"})
    assert oai["status"] is True and oai["message"].startswith("OAI-PMH repository ")
    spn2 = connection_test(api, "wayback_spn2", host=wayback_sandbox.base_url, login=wayback_sandbox.access_key,
                           password=wayback_sandbox.secret, extra={"timeout": 5})  # fmt: skip
    assert spn2 == {"status": True, "message": "SPN2 answered the status request"}
    wrong = connection_test(api, "wayback_spn2", host=wayback_sandbox.base_url, login=wayback_sandbox.access_key,
                            password="not-the-secret", extra={"timeout": 5})  # fmt: skip
    assert wrong["status"] is False
    assert wayback_sandbox.access_key not in wrong["message"] and "not-the-secret" not in wrong["message"]


def test_the_test_button_checks_the_archive_db(api, archive_db_url):
    result = connection_test(api, "ocw_archive_db", extra={"sqlalchemy_url": archive_db_url})
    assert result == {"status": True, "message": "Connected; the archive DB schema is up to date"}


def test_a_bad_form_value_fails_the_test_with_the_field_named(api, sandbox):
    result = connection_test(api, "dspace_sword", host=sandbox.dspace_url, login=SWORD_USER,
                             password=SWORD_PASSWORD, extra={"sword_version": "3"})  # fmt: skip
    assert result["status"] is False
    assert "has an invalid extra: extra.sword_version must be one of 1, 2, got '3'" in result["message"]


@pytest.fixture
def stored_connection(api):
    """Save a Connection through the API (as the Add form does) and delete it afterwards."""
    created = []

    def save(**body) -> dict:
        response = api.post("/api/v2/connections", json=body)
        assert response.status_code == 201, response.text
        created.append(body["connection_id"])
        return response.json()

    yield save
    for connection_id in created:
        api.delete(f"/api/v2/connections/{connection_id}")


def list_test_button(api, stored: dict) -> dict:
    """What the Connections list's Test button posts: the stored fields, the masked password, ``Number(port)``."""
    body = {key: stored[key] for key in ("connection_id", "conn_type", "host", "login", "schema", "extra")}
    body.update(description=stored["description"] or "", password="***", port=int(stored["port"] or 0))
    return api.post("/api/v2/connections/test", json=body)


def test_the_list_test_button_works_for_stored_connections_without_a_port(api, sandbox, stored_connection):
    stored = stored_connection(connection_id="form_sword", conn_type="dspace_sword", host=sandbox.dspace_url,
                               login=SWORD_USER, password=SWORD_PASSWORD,
                               extra=json.dumps({"sword_version": 1, "collections": COLLECTIONS}))  # fmt: skip
    assert stored["port"] is None and stored["password"] == "***"
    response = list_test_button(api, stored)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": True,
        "message": "SWORD v1 service document answered HTTP 200; 2 department(s) mapped to collections",
    }
    # Another port is another destination: the stored password is still not sent there.
    moved = api.post("/api/v2/connections/test", json={**stored, "password": "***", "port": 8443, "extra": "{}"})
    assert moved.status_code == 400 and "differs from the stored connection" in moved.text


def test_the_list_test_button_works_for_the_archive_db(api, archive_db_url, stored_connection):
    # The archive DB form hides the port, so the UI always posts 0 for it.
    stored = stored_connection(connection_id="form_archive_db", conn_type="ocw_archive_db",
                               extra=json.dumps({"sqlalchemy_url": archive_db_url}))  # fmt: skip
    response = list_test_button(api, stored)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": True, "message": "Connected; the archive DB schema is up to date"}


def test_an_archive_db_url_in_extra_is_never_shown_by_the_api(api, stored_connection):
    # A URL written into extra by hand may carry a password; make run and compose mark the key sensitive.
    url = "postgresql+psycopg2://archive:s3cret-archive-pw@db.example.org/ocw_archive"
    stored_connection(connection_id="hand_archive_db", conn_type="ocw_archive_db",
                      extra=json.dumps({"sqlalchemy_url": url}))  # fmt: skip
    response = api.get("/api/v2/connections/hand_archive_db")
    assert response.status_code == 200, response.text
    assert "s3cret-archive-pw" not in response.text
    assert json.loads(response.json()["extra"])["sqlalchemy_url"] == "***"
