"""spaced review on FSRS: each review card gets a memory (stability, difficulty, last review)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The Leitner intervals cards were scheduled on before: box k came back after LEITNER_DAYS[k - 1] days.
LEITNER_DAYS = (1, 3, 7, 14, 30)
# FSRS's difficulty runs from 1 to 10; a card from before FSRS starts in the middle.
DIFFICULTY = 5.0


def upgrade() -> None:
    with op.batch_alter_table("review_card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("difficulty", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("last_review", sa.Date(), nullable=True))
    # A card in box k was last answered k's interval before its due day, and its memory held that long: FSRS
    # takes it from there with that stability (days to 90% recall), so its next day stays where it was.
    postgres = op.get_bind().dialect.name == "postgresql"
    for box, days in enumerate(LEITNER_DAYS, start=1):
        last = "due_date - CAST(:days AS integer)" if postgres else "date(due_date, '-' || :days || ' days')"
        op.execute(
            sa.text(
                f"UPDATE review_card SET stability = :days, difficulty = :difficulty, last_review = {last} "  # noqa: S608 - constants
                "WHERE box = :box"
            ).bindparams(days=days, difficulty=DIFFICULTY, box=box)
        )


def downgrade() -> None:
    with op.batch_alter_table("review_card", schema=None) as batch_op:
        batch_op.drop_column("last_review")
        batch_op.drop_column("difficulty")
        batch_op.drop_column("stability")
