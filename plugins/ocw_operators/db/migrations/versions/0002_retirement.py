"""retirement: flags from the OAI-PMH reconciliation (withdrawn, expunged, missing)

Revision ID: retirement_0002
Revises: retirement_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "retirement_0002"
down_revision: str | None = "retirement_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course_retirement") as batch:
        batch.add_column(sa.Column("dspace_flag", sa.String(16), nullable=True))
        batch.add_column(sa.Column("dspace_flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dspace_flag_reason", sa.Text(), server_default="", nullable=False))
        batch.create_index("ix_course_retirement_dspace_flag", ["dspace_flag"])


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table to drop columns.
    with op.batch_alter_table("course_retirement") as batch:
        batch.drop_index("ix_course_retirement_dspace_flag")
        batch.drop_column("dspace_flag_reason")
        batch.drop_column("dspace_flagged_at")
        batch.drop_column("dspace_flag")
