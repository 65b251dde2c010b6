"""tivoli: the Airflow run that staged each file, and a log of retrievals

Revision ID: tivoli_0003
Revises: tivoli_0002
Create Date: 2026-12-02

``prep_run`` names the preparation's task try (``<dag_id>/<run_id>/<task_id>/try-<n>``); ``prep_run_id`` is
filled from it for existing rows (one UPDATE per distinct value: a few per night, not one per file).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tivoli_0003"
down_revision: str | None = "tivoli_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

file_log = sa.table("tivoli_file_log", sa.column("prep_run", sa.String), sa.column("prep_run_id", sa.String))


def run_id_of(prep_run: str) -> str:
    """The run id inside ``<dag_id>/<run_id>/<task_id>/try-<n>`` (a run id may itself contain slashes)."""
    parts = prep_run.split("/")
    return "/".join(parts[1:-2]) if len(parts) >= 4 else ""


def upgrade() -> None:
    with op.batch_alter_table("tivoli_file_log") as batch:
        batch.add_column(sa.Column("prep_run_id", sa.String(250), server_default="", nullable=False))
    op.create_index("ix_tivoli_file_log_prep_run_id", "tivoli_file_log", ["prep_run_id"])
    connection = op.get_bind()
    for (prep_run,) in connection.execute(sa.select(file_log.c.prep_run).distinct()).all():
        connection.execute(
            file_log.update().where(file_log.c.prep_run == prep_run).values(prep_run_id=run_id_of(prep_run))
        )
    op.create_table(
        "tivoli_retrieval",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("airflow_run_id", sa.String(250), nullable=False),
        sa.Column("bibid", sa.String(10), nullable=False),
        sa.Column("vid", sa.String(5), nullable=False),
        sa.Column("file_path", sa.Text(), server_default="", nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("destination", sa.Text(), server_default="", nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("retrieved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tivoli_retrieval"),
    )
    op.create_index("ix_tivoli_retrieval_airflow_run_id", "tivoli_retrieval", ["airflow_run_id"])
    op.create_index("ix_tivoli_retrieval_retrieved_at", "tivoli_retrieval", ["retrieved_at"])


def downgrade() -> None:
    op.drop_index("ix_tivoli_retrieval_retrieved_at", table_name="tivoli_retrieval")
    op.drop_index("ix_tivoli_retrieval_airflow_run_id", table_name="tivoli_retrieval")
    op.drop_table("tivoli_retrieval")
    op.drop_index("ix_tivoli_file_log_prep_run_id", table_name="tivoli_file_log")
    with op.batch_alter_table("tivoli_file_log") as batch:
        batch.drop_column("prep_run_id")
