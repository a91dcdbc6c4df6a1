"""cohort health: the weekly note to moderators, off by default, claimed once a week

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cohort") as batch:
        batch.add_column(sa.Column("health", sa.Boolean(), nullable=False, server_default="0"))
    op.create_table(
        "health_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cohort_id", "week_start", name="uq_health_note_week"),
    )


def downgrade() -> None:
    op.drop_table("health_note")
    with op.batch_alter_table("cohort") as batch:
        batch.drop_column("health")
