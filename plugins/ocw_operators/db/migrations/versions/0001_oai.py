"""oai: harvested DSpace items, harvest watermarks and harvest runs

Revision ID: oai_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "oai_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("oai",)
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    tz = sa.DateTime(timezone=True)
    return [
        sa.Column("created_on", tz, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_on", tz, server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "oai_harvested_item",
        sa.Column("handle", sa.String(255), nullable=False),
        sa.Column("oai_identifier", sa.String(512), nullable=False),
        sa.Column("datestamp", tz, nullable=False),
        sa.Column("set_specs", sa.Text(), server_default=" ", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("identifier_uri", sa.Text(), nullable=True),
        sa.Column("identifier_key", sa.String(1024), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("last_harvest_run_id", sa.Integer(), nullable=True),
        sa.Column("last_harvested_on", tz, nullable=False),
        sa.Column("vanished_on", tz, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("handle", name="pk_oai_harvested_item"),
    )
    op.create_index("ix_oai_harvested_item_identifier_key", "oai_harvested_item", ["identifier_key"])
    op.create_index("ix_oai_harvested_item_last_harvest_run_id", "oai_harvested_item", ["last_harvest_run_id"])

    op.create_table(
        "oai_harvest_state",
        sa.Column("endpoint", sa.String(512), nullable=False),
        sa.Column("set_spec", sa.String(255), nullable=False),
        sa.Column("metadata_prefix", sa.String(64), nullable=False),
        sa.Column("watermark", tz, nullable=True),
        sa.Column("granularity", sa.String(32), server_default="", nullable=False),
        sa.Column("last_complete_run_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("endpoint", "set_spec", "metadata_prefix", name="pk_oai_harvest_state"),
    )

    op.create_table(
        "oai_harvest_run",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("endpoint", sa.String(512), nullable=False),
        sa.Column("set_spec", sa.String(255), nullable=False),
        sa.Column("metadata_prefix", sa.String(64), nullable=False),
        sa.Column("verb", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("from_datestamp", sa.String(32), server_default="", nullable=False),
        sa.Column("until_datestamp", sa.String(32), server_default="", nullable=False),
        sa.Column("status", sa.String(16), server_default="running", nullable=False),
        sa.Column("resumption_token", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted_records", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected_records", sa.Integer(), server_default="0", nullable=False),
        sa.Column("restarts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_datestamp", tz, nullable=True),
        sa.Column("complete_list_size", sa.Integer(), nullable=True),
        sa.Column("vanished_items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("airflow_run_id", sa.String(250), nullable=True),
        sa.Column("finished_on", tz, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_oai_harvest_run"),
    )
    op.create_index("ix_oai_harvest_run_status", "oai_harvest_run", ["status"])


def downgrade() -> None:
    op.drop_table("oai_harvest_run")
    op.drop_table("oai_harvest_state")
    op.drop_table("oai_harvested_item")
