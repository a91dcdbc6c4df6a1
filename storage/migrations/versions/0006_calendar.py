"""cohort calendar history and member breaks

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar", sa.String(), nullable=True))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("breaks", sa.String(), nullable=True))
    # A cohort paused before calendars were kept is paused from today on: its earlier days stay posting days,
    # as they were judged when they happened.
    today = dt.datetime.now(dt.UTC).date().isoformat()
    pause = json.dumps({"eras": [], "spans": [[today, None, "pause", ""]]}, separators=(",", ":"))
    cohort = sa.table("cohort", sa.column("paused", sa.Boolean()), sa.column("calendar", sa.String()))
    op.execute(cohort.update().where(cohort.c.paused == sa.true()).values(calendar=pause))


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("breaks")
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_column("calendar")
