"""report answers recently posted in each group

A repeated report command in a group within a few minutes is answered privately (or with a
pointer to the earlier post) instead of spending the group's send budget again: each group's
chat state keeps the report answers it was given lately. One nullable column: an instance still
on 0003 keeps working against this schema while an upgrade rolls (it posts every answer).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("chat_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recent_reports", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("chat_states", schema=None) as batch_op:
        batch_op.drop_column("recent_reports")
