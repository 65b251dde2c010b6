"""Every extra field a connection form declares is honoured by its hook, and no hook reads an undeclared one.

Each hook gets a Connection holding every declared field at a value other than its default, once typed as the
UI form sends it and once as text as a hand-written Connection (environment variable, secrets backend) holds it.
"""

from __future__ import annotations

import json

import pytest
from airflow.sdk.definitions.connection import Connection
from airflow.sdk.exceptions import AirflowException

from ocw_operators.connection_forms import CONNECTION_FORMS
from ocw_operators.hooks.archive_db import ArchiveDbHook
from ocw_operators.hooks.dspace_oai import DSpaceOaiHook
from ocw_operators.hooks.dspace_sword import DSpaceSwordHook
from ocw_operators.hooks.ocw_cms import OcwCmsHook
from ocw_operators.hooks.wayback import WaybackHook
from tests.connections import define_connection

COLLECTIONS = {"history": "1721.1/33971"}
FILE_COLLECTIONS = {"physics": "1721.1/33972"}
# The session fields every HTTP connection type declares.
HTTP_NON_DEFAULT = {
    "headers": {"X-Archive-Client": "ocw-archive"},
    "proxies": {"https": "http://proxy.example.edu:3128"},
    "verify": False,
    "ca_bundle": "/etc/ssl/private-ca.pem",
}

# Every declared field, at a value that is not its default. ``collections_file`` is filled in by the fixture.
NON_DEFAULT = {
    "ocw_archive_db": {"sqlalchemy_url": "sqlite:////tmp/ocw-forms-test/archive.db"},
    "dspace_sword": {
        "sword_version": 2,
        "collections": COLLECTIONS,
        "collections_file": None,
        "on_behalf_of": "ocw-publisher",
        "connect_timeout": 3.5,
        "read_timeout": 42.0,
        "deposit_path": "/custom/deposit",
        "verbose": False,
        **HTTP_NON_DEFAULT,
    },
    "dspace_oai": {
        "set_spec": "col_1721.1_33971",
        "metadata_prefix": "mods",
        "path": "/server/oai/request",
        "http_method": "POST",
        "connect_timeout": 3.5,
        "read_timeout": 45.0,
        "total_timeout": 99.0,
        "max_503_retries": 2,
        "default_retry_after": 7.0,
        "max_retry_after": 60.0,
        "max_response_bytes": 1024,
        **HTTP_NON_DEFAULT,
    },
    "ocw_cms": {"auth_style": "basic", "connect_timeout": 3.5, "read_timeout": 45.0, **HTTP_NON_DEFAULT},
    "wayback_spn2": {"timeout": 12.5, **HTTP_NON_DEFAULT},
}


def as_text(value):
    """How a hand-written Connection holds ``value``."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class RecordingExtra(dict):
    """A Connection's extra that remembers which keys were read."""

    read: set[str] = set()

    def get(self, key, default=None):
        RecordingExtra.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        RecordingExtra.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        RecordingExtra.read.add(key)
        return super().__contains__(key)


@pytest.fixture(params=["typed", "text"])
def extras(request, tmp_path, monkeypatch):
    """NON_DEFAULT for each type, typed or as text; reads of any Connection's extra are recorded."""
    collections_file = tmp_path / "collections.json"
    collections_file.write_text(json.dumps(FILE_COLLECTIONS))
    values = {conn_type: dict(fields) for conn_type, fields in NON_DEFAULT.items()}
    values["dspace_sword"]["collections_file"] = str(collections_file)
    if request.param == "text":
        values = {t: {name: as_text(value) for name, value in fields.items()} for t, fields in values.items()}
    original = Connection.extra_dejson
    RecordingExtra.read = set()
    monkeypatch.setattr(Connection, "extra_dejson", property(lambda conn: RecordingExtra(original.fget(conn))))
    return values


def set_connection(monkeypatch, conn_id: str, conn_type: str, extra: dict, **fields) -> None:
    define_connection(monkeypatch, conn_id, conn_type, extra=extra, **fields)


def assert_session_from_form(session) -> None:
    """The session carries the form's headers, proxies and TLS setting (verification off wins over a CA bundle)."""
    assert session.headers["X-Archive-Client"] == "ocw-archive"
    assert session.proxies == HTTP_NON_DEFAULT["proxies"]
    assert session.verify is False


def assert_only_declared_fields_read(conn_type: str) -> None:
    [form] = [form for form in CONNECTION_FORMS if form.conn_type == conn_type]
    assert RecordingExtra.read, "the hook read its Connection's extra"
    assert RecordingExtra.read <= {f.name for f in form.fields}


def test_the_table_holds_every_declared_field_at_a_non_default_value():
    for form in CONNECTION_FORMS:
        assert set(NON_DEFAULT[form.conn_type]) == {f.name for f in form.fields}, form.conn_type
        for extra_field in form.fields:
            if extra_field.name != "collections_file":
                assert NON_DEFAULT[form.conn_type][extra_field.name] != extra_field.default, extra_field.name


def test_archive_db_hook_honours_its_form(extras, monkeypatch):
    set_connection(monkeypatch, "ocw_archive_db", "ocw_archive_db", extras["ocw_archive_db"])
    assert ArchiveDbHook().sqlalchemy_url() == "sqlite:////tmp/ocw-forms-test/archive.db"
    assert_only_declared_fields_read("ocw_archive_db")


def test_sword_hook_honours_its_form(extras, monkeypatch):
    set_connection(monkeypatch, "dspace_sword_default", "dspace_sword", extras["dspace_sword"],
                   host="https://dspace.example.edu", login="depositor", password="pw")  # fmt: skip
    hook = DSpaceSwordHook()
    settings = hook.get_conn().settings
    assert (settings.version, settings.on_behalf_of, settings.deposit_path, settings.verbose) == (
        2,
        "ocw-publisher",
        "/custom/deposit",
        False,
    )
    assert (settings.connect_timeout, settings.read_timeout) == (3.5, 42.0)
    assert hook.get_conn().deposit_url("1721.1/33972") == "https://dspace.example.edu/custom/deposit/1721.1/33972"
    # The file takes precedence over the mapping in the form ...
    assert hook.collection_map().collection_for("physics") == "1721.1/33972"
    assert_session_from_form(hook.get_conn().session)
    assert_only_declared_fields_read("dspace_sword")
    # ... which is used once the file is cleared.
    set_connection(monkeypatch, "dspace_sword_default", "dspace_sword",
                   {**extras["dspace_sword"], "collections_file": ""},
                   host="https://dspace.example.edu", login="depositor", password="pw")  # fmt: skip
    assert DSpaceSwordHook().collection_map().collection_for("History") == "1721.1/33971"


def test_oai_hook_honours_its_form(extras, monkeypatch):
    set_connection(monkeypatch, "dspace_oai_default", "dspace_oai", extras["dspace_oai"],
                   host="dspace.example.edu", schema="http", port=8080)  # fmt: skip
    hook = DSpaceOaiHook()
    settings = hook.get_conn().settings
    assert settings.base_url == "http://dspace.example.edu:8080/server/oai/request"
    assert (hook.set_spec, hook.metadata_prefix, settings.http_method) == ("col_1721.1_33971", "mods", "POST")
    assert (settings.connect_timeout, settings.read_timeout, settings.total_timeout) == (3.5, 45.0, 99.0)
    assert (settings.max_503_retries, settings.default_retry_after, settings.max_retry_after) == (2, 7.0, 60.0)
    assert settings.max_response_bytes == 1024
    assert_session_from_form(hook.get_conn().session)
    assert_only_declared_fields_read("dspace_oai")


def test_cms_hook_honours_its_form(extras, monkeypatch):
    set_connection(monkeypatch, "ocw_cms_default", "ocw_cms", extras["ocw_cms"],
                   host="https://cms.example.edu", login="engine", password="pw")  # fmt: skip
    client = OcwCmsHook().get_conn()
    assert (client.settings.auth_style, client.settings.connect_timeout, client.settings.read_timeout) == (
        "basic",
        3.5,
        45.0,
    )
    assert client.session.auth == ("engine", "pw"), "basic auth style sends HTTP Basic on every request"
    assert_session_from_form(client.session)
    assert_only_declared_fields_read("ocw_cms")


def test_wayback_hook_honours_its_form(extras, monkeypatch):
    set_connection(monkeypatch, "wayback_default", "wayback_spn2", extras["wayback_spn2"],
                   host="https://web.archive.org", login="key", password="secret")  # fmt: skip
    hook = WaybackHook()
    assert hook.settings().timeout == 12.5
    assert hook.get_conn().settings.timeout == 12.5
    assert_session_from_form(hook.get_conn().session)
    assert_only_declared_fields_read("wayback_spn2")


def test_hooks_use_the_declared_defaults_for_an_empty_form(monkeypatch):
    # The UI sends null (or "") for a field left empty.
    set_connection(monkeypatch, "dspace_sword_default", "dspace_sword",
                   {"sword_version": None, "read_timeout": "", "verbose": None, "collections": None},
                   host="https://d", login="u", password="p")  # fmt: skip
    settings = DSpaceSwordHook().get_conn().settings
    assert (settings.version, settings.read_timeout, settings.verbose) == (1, 900.0, True)
    set_connection(monkeypatch, "dspace_oai_default", "dspace_oai", {"metadata_prefix": None, "path": None},
                   host="dspace.example.edu")  # fmt: skip
    hook = DSpaceOaiHook()
    assert hook.get_conn().settings.base_url == "https://dspace.example.edu/oai/request"
    assert (hook.metadata_prefix, hook.set_spec) == ("oai_dc", "")


@pytest.mark.parametrize(
    ("hook_class", "conn_id", "conn_type", "extra", "message"),
    [
        (DSpaceSwordHook, "dspace_sword_default", "dspace_sword", {"sword_version": "two"}, "sword_version must be"),
        (DSpaceSwordHook, "dspace_sword_default", "dspace_sword", {"collections": "history=1"}, "JSON object"),
        (DSpaceOaiHook, "dspace_oai_default", "dspace_oai", {"total_timeout": "-1"}, "greater than 0"),
        (OcwCmsHook, "ocw_cms_default", "ocw_cms", {"auth_style": "cookie"}, "one of form, basic, query"),
        (ArchiveDbHook, "ocw_archive_db", "ocw_archive_db", {"sqlalchemy_url": ["x"]}, "sqlalchemy_url must be text"),
    ],
)
def test_a_bad_form_value_is_a_clear_error_naming_it(monkeypatch, hook_class, conn_id, conn_type, extra, message):
    set_connection(monkeypatch, conn_id, conn_type, extra, host="https://h", login="u", password="p")
    hook = hook_class()
    with pytest.raises(AirflowException, match=f"Connection '{conn_id}' has an invalid extra: extra.*{message}"):
        hook.sqlalchemy_url() if isinstance(hook, ArchiveDbHook) else hook.get_conn()


def test_wayback_bad_timeout_is_a_value_error(monkeypatch):
    set_connection(monkeypatch, "wayback_default", "wayback_spn2", {"timeout": "forever"})
    with pytest.raises(ValueError, match=r"extra.timeout must be a number, got 'forever'"):
        WaybackHook().settings()
