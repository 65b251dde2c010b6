from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ARCHIVE_DB_BACKENDS, migrated_archive_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def sites_dir(tmp_path) -> Path:
    """A private copy of the fixture course sites (the importer rewrites them in place)."""
    target = tmp_path / "sites"
    shutil.copytree(FIXTURES / "sites", target)
    return target


def snapshot_files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` with its bytes and mtime: proof that nothing was touched."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@pytest.fixture(scope="module", params=ARCHIVE_DB_BACKENDS)
def _module_archive_db(request, tmp_path_factory):
    """One migrated archive DB per test module and backend (creating a PostgreSQL database per test is slow)."""
    with migrated_archive_db(request.param, tmp_path_factory.mktemp("archive")) as url:
        yield url


@pytest.fixture
def archive_db_url(_module_archive_db):
    """Overrides the root fixture here: the module's DB, emptied of import data (ids restart at 1)."""
    from sqlalchemy import text

    from ocw_operators.db import make_engine, migrate

    migrate.upgrade(_module_archive_db)  # a test may have downgraded the branch
    engine = make_engine(_module_archive_db)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("TRUNCATE external_resource_reference, external_resource RESTART IDENTITY CASCADE"))
        else:
            connection.execute(text("DELETE FROM external_resource_reference"))
            connection.execute(text("DELETE FROM external_resource"))
    engine.dispose()
    return _module_archive_db
