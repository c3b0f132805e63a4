"""a revision number per team for what rarely changes

`teams.revision` is bumped in the transaction of every change to a team's row, metrics, targets
or declared calendar days (kpi.team_cache). An instance caches those per team under the revision
it reads in its own transaction, so another instance's change is seen at once. An instance still
on the previous revision ignores the column (its default keeps new rows valid).

Revision ID: 0011_perf
Revises: 0010_scale
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_perf"
down_revision = "0010_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # Plain ALTER TABLE on SQLite too (3.35+): a batch would copy `teams`, which every other
    # table references, and fail their foreign keys.
    op.add_column(
        "teams", sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("teams", "revision")
