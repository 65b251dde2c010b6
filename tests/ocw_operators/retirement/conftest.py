"""Fixtures for the retirement tests: a sandbox DSpace + CMS and plain clients over an archive DB."""

import pytest

from tests.ocw_operators.retirement.sandbox_env import Env, Sandbox, make_env, start_sandbox


@pytest.fixture
def sandbox(sandbox_runtime, tmp_path) -> Sandbox:
    return start_sandbox(sandbox_runtime, tmp_path)


@pytest.fixture
def env(sandbox, archive_engine, tmp_path) -> Env:
    return make_env(sandbox, archive_engine, tmp_path)
