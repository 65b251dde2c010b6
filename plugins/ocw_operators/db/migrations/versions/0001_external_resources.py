"""external_resources: resources with link-check and Wayback state

Revision ID: resources_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "resources_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("external_resources",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "external_resource",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("content_uuid", sa.String(36), nullable=False),
        sa.Column("site_name", sa.String(255), nullable=False),
        sa.Column("site_short_id", sa.String(255), server_default="", nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("has_external_license_warning", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status", sa.String(16), server_default="unchecked", nullable=False),
        sa.Column("external_url_response_code", sa.Integer(), nullable=True),
        sa.Column("check_error", sa.String(255), server_default="", nullable=False),
        sa.Column("last_checked", tz, nullable=True),
        sa.Column("wayback_job_id", sa.String(255), server_default="", nullable=False),
        sa.Column("wayback_status", sa.String(16), server_default="", nullable=False),
        sa.Column("wayback_status_ext", sa.String(128), server_default="", nullable=False),
        sa.Column("wayback_url", sa.String(800), server_default="", nullable=False),
        sa.Column("wayback_http_status", sa.Integer(), nullable=True),
        sa.Column("wayback_submitted_at", tz, nullable=True),
        sa.Column("wayback_last_successful_submission", tz, nullable=True),
        sa.Column("created_on", tz, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_on", tz, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_external_resource"),
        sa.UniqueConstraint("content_uuid", name="uq_external_resource_content_uuid"),
    )
    op.create_index("ix_external_resource_site_name", "external_resource", ["site_name"])
    op.create_index("ix_external_resource_status", "external_resource", ["status"])
    op.create_index("ix_external_resource_wayback_status", "external_resource", ["wayback_status"])


def downgrade() -> None:
    op.drop_table("external_resource")
