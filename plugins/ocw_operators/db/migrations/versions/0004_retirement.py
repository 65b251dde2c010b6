"""retirement: the Airflow runs that last advanced a course and that raised its reconciliation flag

Revision ID: retirement_0004
Revises: retirement_0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "retirement_0004"
down_revision: str | None = "retirement_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course_retirement") as batch:
        batch.add_column(sa.Column("retirement_run_id", sa.String(250), server_default="", nullable=False))
        batch.add_column(sa.Column("dspace_flag_run_id", sa.String(250), server_default="", nullable=False))
    op.create_index("ix_course_retirement_retirement_run_id", "course_retirement", ["retirement_run_id"])
    op.create_index("ix_course_retirement_dspace_flag_run_id", "course_retirement", ["dspace_flag_run_id"])


def downgrade() -> None:
    op.drop_index("ix_course_retirement_dspace_flag_run_id", table_name="course_retirement")
    op.drop_index("ix_course_retirement_retirement_run_id", table_name="course_retirement")
    with op.batch_alter_table("course_retirement") as batch:
        batch.drop_column("dspace_flag_run_id")
        batch.drop_column("retirement_run_id")
