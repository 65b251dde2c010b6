import pytest

from tests.ocw_operators.oai.support import start_oai_sandbox


@pytest.fixture
def oai_sandbox(sandbox_runtime):
    """A fresh store served by the sandbox OAI-PMH endpoint (index refreshed on every request)."""
    return start_oai_sandbox(sandbox_runtime)


@pytest.fixture
def oai_sandbox_manual_index(sandbox_runtime):
    """Like ``oai_sandbox`` but the OAI index changes only on ``reindex()`` (DSpace's ``oai import``)."""
    return start_oai_sandbox(sandbox_runtime, auto_import=False)
