"""external_resources: the run that checked and submitted each link, when it first broke, and each check run's counts

Revision ID: resources_0003
Revises: resources_0002
Create Date: 2026-12-02

``first_broken_at`` starts as the last check time of links broken now (the earliest time the archive knows).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "resources_0003"
down_revision: str | None = "resources_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    with op.batch_alter_table("external_resource") as batch:
        batch.add_column(sa.Column("last_check_run", sa.String(250), server_default="", nullable=False))
        batch.add_column(sa.Column("first_broken_at", tz, nullable=True))
        batch.add_column(sa.Column("wayback_submit_run", sa.String(250), server_default="", nullable=False))
    op.create_index("ix_external_resource_last_check_run", "external_resource", ["last_check_run"])
    op.create_index("ix_external_resource_wayback_submit_run", "external_resource", ["wayback_submit_run"])
    op.create_index("ix_external_resource_site_health", "external_resource", ["site_name", "status", "wayback_status"])
    op.execute("UPDATE external_resource SET first_broken_at = last_checked WHERE status = 'broken'")
    op.create_table(
        "link_check_run",
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("finished_at", tz, nullable=False),
        sa.Column("checked", sa.Integer(), server_default="0", nullable=False),
        sa.Column("valid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("broken", sa.Integer(), server_default="0", nullable=False),
        sa.Column("check_failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("broken_total", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("dag_id", "run_id", name="pk_link_check_run"),
    )
    op.create_index("ix_link_check_run_finished_at", "link_check_run", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_link_check_run_finished_at", table_name="link_check_run")
    op.drop_table("link_check_run")
    op.drop_index("ix_external_resource_site_health", table_name="external_resource")
    op.drop_index("ix_external_resource_wayback_submit_run", table_name="external_resource")
    op.drop_index("ix_external_resource_last_check_run", table_name="external_resource")
    with op.batch_alter_table("external_resource") as batch:
        batch.drop_column("wayback_submit_run")
        batch.drop_column("first_broken_at")
        batch.drop_column("last_check_run")
