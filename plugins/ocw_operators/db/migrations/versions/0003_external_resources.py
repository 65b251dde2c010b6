"""external_resources: when a resource's link status last changed (for "newly broken" in the attention digest)

Revision ID: resources_0003
Revises: resources_0002
Create Date: 2026-11-30

Existing rows get no value: their last change is unknown, so none of them counts as newly broken until the next
check changes its status.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "resources_0003"
down_revision: str | None = "resources_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("external_resource") as batch:
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("external_resource") as batch:
        batch.drop_column("status_changed_at")
