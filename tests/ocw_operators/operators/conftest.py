"""Operator tests run on SQLite only: operators are thin wrappers, and every SQL path they call (selection,
claims, status writes, the rate-limit bucket) is exercised on SQLite and PostgreSQL by the domain tests in
tests/ocw_operators/wayback and tests/ocw_operators/test_ratelimit.py. This keeps the suite fast."""

from __future__ import annotations

import pytest

from tests.conftest import migrated_archive_db


@pytest.fixture
def archive_db_url(tmp_path):
    with migrated_archive_db("sqlite", tmp_path) as url:
        yield url
