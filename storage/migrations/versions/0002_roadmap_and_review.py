"""roadmap progress and spaced review

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.String(length=100), nullable=False),
        sa.Column("topic_id", sa.String(length=100), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "stage_id", "topic_id", name="uq_learned_topic"),
    )
    with op.batch_alter_table("learned_topic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learned_topic_member_id"), ["member_id"], unique=False)

    op.create_table(
        "review_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.String(length=100), nullable=False),
        sa.Column("box", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "challenge_id", name="uq_review_card"),
    )
    with op.batch_alter_table("review_card", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_card_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("stage_since", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_column("stage_since")
        batch_op.drop_column("stage_id")

    with op.batch_alter_table("review_card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_card_member_id"))

    op.drop_table("review_card")
    with op.batch_alter_table("learned_topic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learned_topic_member_id"))

    op.drop_table("learned_topic")
