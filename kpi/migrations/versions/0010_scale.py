"""several instances on one database: inbox lanes, leases, a shared send budget

Additive only, so that an instance of the previous version keeps running on this schema while an
upgrade rolls: a nullable `lane` on the inbox (an older instance leaves it NULL; a newer one
fills it in), a partial index on the pending rows' lanes, the `leases` table (chat lanes and the
getUpdates poller) and `send_windows` (Telegram's send budget shared by every instance).

Revision ID: 0010_scale
Revises: 0009_deals
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kpi.models

revision = "0010_scale"
down_revision = "0009_deals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("inbox_updates") as batch:
        batch.add_column(sa.Column("lane", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_inbox_lane_pending",
        "inbox_updates",
        ["lane", "id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("holder", sa.String(length=160), nullable=False),
        sa.Column("expires_at", kpi.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_index("ix_leases_holder", "leases", ["holder"])
    op.create_table(
        "send_windows",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_send_windows")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("send_windows")
    op.drop_index("ix_leases_holder", table_name="leases")
    op.drop_table("leases")
    op.drop_index("ix_inbox_lane_pending", table_name="inbox_updates")
    with op.batch_alter_table("inbox_updates") as batch:
        batch.drop_column("lane")
