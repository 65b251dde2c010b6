from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ocw_operators.db import migrate
from ocw_operators.db.models import Base


def test_migrations_match_the_models(archive_engine):
    with archive_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "models and migrations disagree; write a migration for these changes"


def test_schema_is_current_after_upgrade(archive_engine):
    assert migrate.pending_heads(archive_engine) == set()


def test_upgrade_is_idempotent_and_downgrade_reaches_base(archive_db_url, archive_engine):
    migrate.upgrade(archive_db_url)
    migrate.downgrade(archive_db_url, "base")
    assert migrate.pending_heads(archive_engine)
    migrate.upgrade(archive_db_url)
    assert migrate.pending_heads(archive_engine) == set()
