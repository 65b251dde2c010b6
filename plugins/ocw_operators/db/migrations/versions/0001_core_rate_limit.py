"""core: shared rate-limit buckets

Revision ID: core_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("core",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_bucket",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("next_slot_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_rate_limit_bucket"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_bucket")
