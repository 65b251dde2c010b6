"""resource_import: resource filename and creating run, plus the content -> resource reference table

Revision ID: resource_import_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "resource_import_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("resource_import",)
# Alters external_resource, which the external_resources branch creates.
depends_on: str | Sequence[str] | None = "resources_0001"


def upgrade() -> None:
    with op.batch_alter_table("external_resource") as batch:
        batch.add_column(sa.Column("filename", sa.String(255), server_default="", nullable=False))
        batch.add_column(sa.Column("created_by_run", sa.String(250), server_default="", nullable=False))
        batch.create_index("ix_external_resource_created_by_run", ["created_by_run"])

    tz = sa.DateTime(timezone=True)
    op.create_table(
        "external_resource_reference",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("site_name", sa.String(255), nullable=False),
        sa.Column("source_path", sa.String(512), nullable=False),
        sa.Column("source_uid", sa.String(64), server_default="", nullable=False),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("created_on", tz, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_on", tz, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_external_resource_reference"),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["external_resource.id"],
            name="fk_external_resource_reference_resource_id_external_resource",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "resource_id", "site_name", "source_path", name="uq_external_resource_reference_resource_id"
        ),
    )
    op.create_index("ix_external_resource_reference_resource_id", "external_resource_reference", ["resource_id"])
    op.create_index("ix_external_resource_reference_site_name", "external_resource_reference", ["site_name"])


def downgrade() -> None:
    op.drop_table("external_resource_reference")
    with op.batch_alter_table("external_resource") as batch:
        batch.drop_index("ix_external_resource_created_by_run")
        batch.drop_column("created_by_run")
        batch.drop_column("filename")
