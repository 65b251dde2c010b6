"""Fixtures for the retirement tests: plain clients over an archive DB and the ``sandbox`` (tests/conftest.py)."""

import pytest

from tests.ocw_operators.retirement.sandbox_env import Env, make_env


@pytest.fixture
def env(sandbox, archive_engine, tmp_path) -> Env:
    return make_env(sandbox, archive_engine, tmp_path)
