"""retirement: an operator's acknowledgement of a reconciliation flag (who and when)

Revision ID: retirement_0003
Revises: retirement_0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "retirement_0003"
down_revision: str | None = "retirement_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course_retirement") as batch:
        batch.add_column(sa.Column("dspace_flag_acknowledged_by", sa.String(250), server_default="", nullable=False))
        batch.add_column(sa.Column("dspace_flag_acknowledged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table to drop columns.
    with op.batch_alter_table("course_retirement") as batch:
        batch.drop_column("dspace_flag_acknowledged_at")
        batch.drop_column("dspace_flag_acknowledged_by")
