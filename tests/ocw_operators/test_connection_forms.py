"""Connection form declarations: what the UI form shows and how the hooks parse what it sends."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from ocw_operators.clients import wayback_spn2 as spn2
from ocw_operators.clients.cms import CmsSettings
from ocw_operators.clients.dspace_oai import OaiClientSettings
from ocw_operators.clients.dspace_sword import SwordSettings
from ocw_operators.connection_fields import ConnectionForm, ExtraField, ExtraFieldError
from ocw_operators.connection_forms import ARCHIVE_DB, CONNECTION_FORMS, DSPACE_OAI, DSPACE_SWORD, OCW_CMS, WAYBACK_SPN2


def test_every_type_declares_labelled_described_fields():
    assert [form.conn_type for form in CONNECTION_FORMS] == [
        "ocw_archive_db",
        "dspace_sword",
        "dspace_oai",
        "ocw_cms",
        "wayback_spn2",
    ]
    for form in CONNECTION_FORMS:
        assert form.fields, form.conn_type
        for extra_field in form.fields:
            assert extra_field.label and extra_field.description, (form.conn_type, extra_field.name)
            assert extra_field.default is None or extra_field.parse(extra_field.default) == extra_field.default


def test_a_conn_field_is_the_json_schema_airflow_reads():
    entry = DSPACE_SWORD.provider_entry()
    assert entry["hook-name"] == "DSpace SWORD"
    assert entry["conn-fields"]["sword_version"] == {
        "label": "SWORD version",
        "description": DSPACE_SWORD.extra_field("sword_version").description,
        "schema": {
            "type": ["integer", "null"],
            "default": 1,
            "enum": [1, 2],
            "values_display": {"1": "SWORD v1", "2": "SWORD v2"},
        },
    }
    assert entry["conn-fields"]["collections"]["schema"] == {"type": ["object", "null"]}
    assert entry["conn-fields"]["read_timeout"]["schema"] == {
        "type": ["number", "null"],
        "default": 900.0,
        "exclusiveMinimum": 0,
    }
    assert ARCHIVE_DB.provider_entry()["conn-fields"]["sqlalchemy_url"]["schema"]["format"] == "password"
    assert ARCHIVE_DB.provider_entry()["ui-field-behaviour"] == {
        "hidden-fields": ["host", "schema", "port", "login"],
        "relabeling": {"password": "Database password (added to the URL)"},
        "placeholders": {},
    }


OAI_CLIENT_FIELDS = (
    "http_method",
    "connect_timeout",
    "read_timeout",
    "total_timeout",
    "max_503_retries",
    "default_retry_after",
    "max_retry_after",
    "max_response_bytes",
)


@pytest.mark.parametrize(
    ("form", "settings_class", "names"),
    [
        (DSPACE_SWORD, SwordSettings, {"sword_version": "version", "connect_timeout": "connect_timeout",
                                       "read_timeout": "read_timeout", "verbose": "verbose"}),
        (DSPACE_OAI, OaiClientSettings, {name: name for name in OAI_CLIENT_FIELDS}),
        (OCW_CMS, CmsSettings, {name: name for name in ("auth_style", "connect_timeout", "read_timeout")}),
    ],
)  # fmt: skip
def test_form_defaults_are_the_clients_defaults(form, settings_class, names):
    defaults = {f.name: f.default for f in dataclasses.fields(settings_class)}
    for form_name, settings_name in names.items():
        assert form.extra_field(form_name).default == defaults[settings_name], form_name


def test_wayback_form_default_is_the_clients_default():
    assert WAYBACK_SPN2.extra_field("timeout").default == spn2.DEFAULT_TIMEOUT_SECONDS
    assert WAYBACK_SPN2.extra_field("timeout").maximum == 600  # Spn2Settings refuses longer timeouts


@pytest.mark.parametrize(
    ("kind", "sent", "expected"),
    [
        ("integer", 2, 2),
        ("integer", "2", 2),
        ("integer", " 2 ", 2),
        ("integer", 2.0, 2),
        ("number", 900, 900.0),
        ("number", "12.5", 12.5),
        ("boolean", False, False),
        ("boolean", "false", False),
        ("boolean", "True", True),
        ("boolean", 1, True),
        ("string", "col_1721.1_33971 ", "col_1721.1_33971"),
        ("object", {"history": "1721.1/33971"}, {"history": "1721.1/33971"}),
        ("object", '{"history": "1721.1/33971"}', {"history": "1721.1/33971"}),
    ],
)
def test_values_arrive_typed_from_the_form_or_as_text(kind, sent, expected):
    parsed = ExtraField("f", "F", kind, "d").parse(sent)
    assert parsed == expected
    assert type(parsed) is type(expected)


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_missing_empty_or_null_gives_the_default(missing):
    assert ExtraField("f", "F", "number", "d", default=10.0).parse(missing) == 10.0
    assert ExtraField("f", "F", "object", "d").parse(missing) is None


@pytest.mark.parametrize(
    ("kind", "sent", "message"),
    [
        ("integer", "two", "must be a whole number, got 'two'"),
        ("integer", 2.5, "must be a whole number, got 2.5"),
        ("integer", True, "must be a whole number, got True"),
        ("number", "fast", "must be a number, got 'fast'"),
        ("number", "nan", "must be a number"),
        ("boolean", "maybe", "must be true or false, got 'maybe'"),
        ("string", {"a": 1}, "must be text"),
        ("object", "[1, 2]", "must be a JSON object"),
        ("object", "{history: 1721.1/33971}", "must be a JSON object"),
        ("object", ["history"], "must be a JSON object"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_clear_error(kind, sent, message):
    with pytest.raises(ExtraFieldError, match=rf"^extra\.f {message}"):
        ExtraField("f", "F", kind, "d").parse(sent)


def test_enums_and_bounds_are_enforced():
    version = DSPACE_SWORD.extra_field("sword_version")
    with pytest.raises(ExtraFieldError, match=r"extra.sword_version must be one of 1, 2, got '3'"):
        version.parse("3")
    assert OCW_CMS.extra_field("auth_style").parse("Basic") == "basic"
    assert DSPACE_OAI.extra_field("http_method").parse("post") == "POST"
    with pytest.raises(ExtraFieldError, match="must be one of form, basic, query, got 'cookie'"):
        OCW_CMS.extra_field("auth_style").parse("cookie")
    with pytest.raises(ExtraFieldError, match="greater than 0"):
        DSPACE_SWORD.extra_field("read_timeout").parse(0)
    with pytest.raises(ExtraFieldError, match="at least 0"):
        DSPACE_OAI.extra_field("max_503_retries").parse(-1)
    with pytest.raises(ExtraFieldError, match="at most 600"):
        WAYBACK_SPN2.extra_field("timeout").parse("601")


def test_errors_name_the_connection_and_never_quote_a_sensitive_value():
    secret_url = "postgresql://ocw:hunter2@db/ocw_archive"
    with pytest.raises(ExtraFieldError) as caught:
        ARCHIVE_DB.parse_extra("ocw_archive_db", {"sqlalchemy_url": {"url": secret_url}})
    assert str(caught.value) == (
        "Connection 'ocw_archive_db' has an invalid extra: extra.sqlalchemy_url must be text, got a dict (value hidden)"
    )
    assert "hunter2" not in str(caught.value)


def test_parsed_extras_hold_every_declared_field_and_refuse_undeclared_ones(caplog):
    with caplog.at_level(logging.WARNING, logger="ocw_operators.connection_forms"):
        extra = OCW_CMS.parse_extra("ocw_cms_default", {"read_timeout": "30", "read_timout": 5})
    assert dict(extra) == {
        "auth_style": "form",
        "connect_timeout": 10.0,
        "read_timeout": 30.0,
        **{"headers": None, "proxies": None, "verify": True, "ca_bundle": None},
    }
    assert "['read_timout'] not used by ocw_cms connections" in caplog.text
    with pytest.raises(KeyError, match="ocw_cms connections declare no extra field 'timeout'"):
        extra["timeout"]
    with pytest.raises(KeyError, match="declare no extra field 'timeout'"):
        extra.get("timeout")
    assert extra.get("auth_style") == "form"


def test_a_form_may_only_shape_standard_fields():
    with pytest.raises(ValueError, match="not standard connection fields"):
        ConnectionForm("t", "h.H", "T", fields=(), hidden=("sqlalchemy_url",))
    with pytest.raises(ValueError, match="not standard connection fields"):
        ConnectionForm("t", "h.H", "T", fields=(), placeholders={"extra": "{}"})
    with pytest.raises(ValueError, match="declared twice"):
        ConnectionForm("t", "h.H", "T", fields=(ExtraField("a", "A", "string", "d"),) * 2)
