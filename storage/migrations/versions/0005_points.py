"""running point totals for the leaderboard

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.points import rebuild_points

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cohort_id", "period", "period_start", "member_id", name="uq_points"),
    )
    op.create_index("ix_points_member_id", "points", ["member_id"], unique=False)
    op.create_index(
        "ix_points_rank",
        "points",
        ["cohort_id", "period", "period_start", "points", "member_id"],
        unique=False,
    )
    rebuild_points(op.get_bind(), awards=False)  # the totals of the ledger so far (0009 adds awards)


def downgrade() -> None:
    op.drop_index("ix_points_rank", table_name="points")
    op.drop_index("ix_points_member_id", table_name="points")
    op.drop_table("points")
