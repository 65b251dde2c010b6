"""The resource_import migration branch: depends on external_resources, upgrades and downgrades on its own."""

from __future__ import annotations

from sqlalchemy import inspect

from ocw_operators.db import make_engine, migrate


def test_branch_depends_on_the_resources_table_and_reports_itself_pending(tmp_path):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(url, "external_resources@head")
        assert "resource_import_0001" in migrate.pending_heads(engine)
        migrate.upgrade(url, "resource_import@head")
        assert "resource_import_0001" not in migrate.pending_heads(engine)
        columns = {column["name"] for column in inspect(engine).get_columns("external_resource")}
        assert {"filename", "created_by_run"} <= columns
    finally:
        engine.dispose()


def test_branch_downgrades_alone_and_keeps_the_resources_table(archive_db_url):
    migrate.downgrade(archive_db_url, "resource_import@base")
    engine = make_engine(archive_db_url)
    try:
        inspector = inspect(engine)
        assert "external_resource_reference" not in inspector.get_table_names()
        assert "filename" not in {column["name"] for column in inspector.get_columns("external_resource")}
        assert migrate.pending_heads(engine) == {"resource_import_0001"}
    finally:
        engine.dispose()
    migrate.upgrade(archive_db_url)
