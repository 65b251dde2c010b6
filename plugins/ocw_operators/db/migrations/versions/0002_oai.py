"""oai: harvest runs found by their Airflow run id

Revision ID: oai_0002
Revises: oai_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "oai_0002"
down_revision: str | None = "oai_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_oai_harvest_run_airflow_run_id", "oai_harvest_run", ["airflow_run_id"])


def downgrade() -> None:
    op.drop_index("ix_oai_harvest_run_airflow_run_id", table_name="oai_harvest_run")
