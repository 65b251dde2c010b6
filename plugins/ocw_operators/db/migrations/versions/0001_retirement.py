"""retirement: course retirement state machine

Revision ID: retirement_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "retirement_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("retirement",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "course_retirement",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("course_id", sa.String(320), nullable=False),
        sa.Column("state", sa.String(16), server_default="pending", nullable=False),
        sa.Column("department", sa.String(128), server_default="", nullable=False),
        sa.Column("identifier_uri", sa.Text(), server_default="", nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("package_path", sa.Text(), server_default="", nullable=False),
        sa.Column("zip_path", sa.Text(), server_default="", nullable=False),
        sa.Column("zip_md5", sa.String(32), server_default="", nullable=False),
        sa.Column("zip_size", sa.BigInteger(), nullable=True),
        sa.Column("collection_handle", sa.String(64), server_default="", nullable=False),
        sa.Column("deposit_started_at", tz, nullable=True),
        sa.Column("deposited_at", tz, nullable=True),
        sa.Column("deposit_status_code", sa.Integer(), nullable=True),
        sa.Column("deposit_receipt", sa.Text(), server_default="", nullable=False),
        sa.Column("deposit_location", sa.Text(), server_default="", nullable=False),
        sa.Column("edit_iri", sa.Text(), server_default="", nullable=False),
        sa.Column("dspace_handle", sa.String(64), nullable=True),
        sa.Column("cms_confirmed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("cms_confirmed_at", tz, nullable=True),
        sa.Column("completed_at", tz, nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("created_on", tz, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_on", tz, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_course_retirement"),
        sa.UniqueConstraint("course_id", name="uq_course_retirement_course_id"),
    )
    op.create_index("ix_course_retirement_state", "course_retirement", ["state"])
    op.create_index("ix_course_retirement_dspace_handle", "course_retirement", ["dspace_handle"])


def downgrade() -> None:
    op.drop_table("course_retirement")
