"""tivoli: file log, load batches, volume status, lease

Revision ID: tivoli_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tivoli_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("tivoli",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "tivoli_load_batch",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_key", sa.String(250), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("staging_root", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("return_code", sa.Integer(), nullable=True),
        sa.Column("files_reported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("files_archived", sa.Integer(), server_default="0", nullable=False),
        sa.Column("files_deleted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bytes_archived", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("started_at", tz, nullable=False),
        sa.Column("finished_at", tz, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tivoli_load_batch"),
        sa.UniqueConstraint("run_key", name="uq_tivoli_load_batch_run_key"),
    )
    op.create_table(
        "tivoli_file_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("bibid", sa.String(10), nullable=False),
        sa.Column("vid", sa.String(5), nullable=False),
        sa.Column("folder", sa.String(250), server_default="", nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_write_date", tz, nullable=False),
        sa.Column("archive_date", tz, nullable=False),
        sa.Column("sha1", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("staging_path", sa.Text(), nullable=False),
        sa.Column("prep_run", sa.String(250), nullable=False),
        sa.Column("load_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_batch_id"],
            ["tivoli_load_batch.id"],
            name="fk_tivoli_file_log_load_batch_id_tivoli_load_batch",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tivoli_file_log"),
        sa.UniqueConstraint("bibid", "vid", "folder", "file_name", name="uq_tivoli_file_log_name"),
    )
    op.create_index("ix_tivoli_file_log_volume", "tivoli_file_log", ["bibid", "vid"])
    op.create_index("ix_tivoli_file_log_state", "tivoli_file_log", ["state"])
    op.create_index("ix_tivoli_file_log_load_batch_id", "tivoli_file_log", ["load_batch_id"])
    op.create_table(
        "tivoli_volume_status",
        sa.Column("bibid", sa.String(10), nullable=False),
        sa.Column("vid", sa.String(5), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("files_staged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("files_archived", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bytes_archived", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_staged_at", tz, nullable=True),
        sa.Column("last_archived_at", tz, nullable=True),
        sa.PrimaryKeyConstraint("bibid", "vid", name="pk_tivoli_volume_status"),
    )
    op.create_table(
        "tivoli_lease",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(250), nullable=False),
        sa.Column("acquired_at", tz, nullable=False),
        sa.Column("expires_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_tivoli_lease"),
    )


def downgrade() -> None:
    op.drop_table("tivoli_lease")
    op.drop_table("tivoli_volume_status")
    op.drop_table("tivoli_file_log")
    op.drop_table("tivoli_load_batch")
