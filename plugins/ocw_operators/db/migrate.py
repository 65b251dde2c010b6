"""Alembic migrations for the archive state DB, run without an alembic.ini.

Each workflow owns an independent migration branch (its own ``branch_labels`` and base revision), so the
domains evolve their tables without a shared linear history; ``upgrade`` always goes to all ``heads``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in URL-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` to ``revision`` (default: every branch head)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def pending_heads(engine: Engine) -> set[str]:
    """Branch heads not yet applied; empty when the schema is current."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    # A branch head that another branch ``depends_on`` is not stored in alembic_version once the dependent
    # revision is applied, so count everything reachable from the stored heads (dependencies included).
    applied = {revision.revision for revision in script.iterate_revisions(current, "base")} if current else set()
    return set(script.get_heads()) - applied
