"""tivoli: volumes held back by the preparation, with the reason

Revision ID: tivoli_0002
Revises: tivoli_0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tivoli_0002"
down_revision: str | None = "tivoli_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "tivoli_held_volume",
        sa.Column("bibid", sa.String(10), nullable=False),
        sa.Column("vid", sa.String(5), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_code", sa.String(16), server_default="", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("first_seen_at", tz, nullable=False),
        sa.Column("last_seen_at", tz, nullable=False),
        sa.Column("last_run", sa.String(250), nullable=False),
        sa.Column("released_at", tz, nullable=True),
        sa.Column("release_note", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("bibid", "vid", name="pk_tivoli_held_volume"),
    )
    op.create_index("ix_tivoli_held_volume_released_at", "tivoli_held_volume", ["released_at"])


def downgrade() -> None:
    op.drop_index("ix_tivoli_held_volume_released_at", table_name="tivoli_held_volume")
    op.drop_table("tivoli_held_volume")
