"""outbox and send attempts

The outbox table (messages that follow a committed effect) and, on scheduled-post claims, whether
the claim's holder started sending. Only a new table and nullable columns: an instance still on
0001 keeps working against this schema while an upgrade rolls (its claims leave `attempted`
NULL, which the new code treats as "may have been sent").

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 21:17:19.967481
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kpi.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_to", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("ref_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=True),
        sa.Column("created_at", kpi.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", kpi.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("next_at", kpi.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", kpi.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("shown_at", kpi.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_outbox_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_outbox_user", ["user_id", "status"], unique=False)

    with op.batch_alter_table("scheduled_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempted", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("attempted_at", kpi.models.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("scheduled_runs", schema=None) as batch_op:
        batch_op.drop_column("attempted_at")
        batch_op.drop_column("attempted")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_user")
        batch_op.drop_index("ix_outbox_status")

    op.drop_table("outbox")
