"""ArchiveDbHook: the URL from the Connection (the password kept out of it), and the UI's connection test."""

from __future__ import annotations

import functools

import pytest
from airflow.sdk.exceptions import AirflowException

from ocw_operators.hooks.archive_db import ArchiveDbHook
from tests.connections import define_connection

PASSWORD = "arch1ve-Pa55-d0-not-leak"


set_connection = functools.partial(define_connection, conn_id="ocw_archive_db", conn_type="ocw_archive_db")


def test_the_password_field_completes_a_url_without_one(monkeypatch):
    set_connection(monkeypatch, password=PASSWORD, extra={"sqlalchemy_url": "postgresql+psycopg2://ocw@db/ocw_archive"})
    assert ArchiveDbHook().sqlalchemy_url() == f"postgresql+psycopg2://ocw:{PASSWORD}@db/ocw_archive"
    set_connection(monkeypatch, password="other", extra={"sqlalchemy_url": f"postgresql://ocw:{PASSWORD}@db/a"})
    assert ArchiveDbHook().sqlalchemy_url() == f"postgresql://ocw:{PASSWORD}@db/a", "a password in the URL wins"
    set_connection(monkeypatch, extra={"sqlalchemy_url": "sqlite:////var/lib/ocw/archive.db"})
    assert ArchiveDbHook().sqlalchemy_url() == "sqlite:////var/lib/ocw/archive.db"


def test_a_password_inside_the_url_is_masked(monkeypatch):
    masked = []
    monkeypatch.setattr("ocw_operators.hooks.archive_db.mask_secret", masked.append)
    set_connection(monkeypatch, extra={"sqlalchemy_url": f"postgresql://ocw:{PASSWORD}@db/ocw_archive"})
    ArchiveDbHook().sqlalchemy_url()
    assert masked == [PASSWORD]


def test_a_url_that_does_not_parse_is_a_clear_error_without_the_url(monkeypatch):
    set_connection(monkeypatch, extra={"sqlalchemy_url": f"ocw:{PASSWORD}@db"})
    with pytest.raises(AirflowException, match=r"extra\.sqlalchemy_url is not a SQLAlchemy URL") as caught:
        ArchiveDbHook().sqlalchemy_url()
    assert PASSWORD not in str(caught.value)


def test_connection_test_reports_the_schema(archive_db_url, monkeypatch, tmp_path):
    set_connection(monkeypatch, extra={"sqlalchemy_url": archive_db_url})
    assert ArchiveDbHook().test_connection() == (True, "Connected; the archive DB schema is up to date")
    set_connection(monkeypatch, extra={"sqlalchemy_url": f"sqlite:///{tmp_path / 'typo.db'}"})
    ok, message = ArchiveDbHook().test_connection()
    assert ok and "still needs `python -m ocw_operators db upgrade`" in message


def test_a_connection_error_quoting_the_password_is_redacted(monkeypatch):
    # libpq quotes a bad option value back; the password completed from the Password field must not appear.
    url = f"postgresql+psycopg2://ocw@127.0.0.1:1/ocw_archive?sslmode={PASSWORD}"
    set_connection(monkeypatch, password=PASSWORD, extra={"sqlalchemy_url": url})
    ok, message = ArchiveDbHook().test_connection()
    assert not ok and message.startswith("OperationalError: ") and 'invalid sslmode value: "***"' in message
    assert PASSWORD not in message
