"""cohort health note: who turned it on (they get it until their moderator rights are revoked)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cohort") as batch:
        batch.add_column(sa.Column("health_by", sa.String(length=64), nullable=True))
    # Notes turned on before this revision went to the cohort's creator: they keep going to them.
    op.execute("UPDATE cohort SET health_by = created_by WHERE health")


def downgrade() -> None:
    with op.batch_alter_table("cohort") as batch:
        batch.drop_column("health_by")
