"""cohort end date: no posts after it, and its active members graduate

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cohort") as batch:
        batch.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("graduated_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cohort") as batch:
        batch.drop_column("graduated_on")
        batch.drop_column("end_date")
