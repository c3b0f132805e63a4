"""absences (leave) and report snapshots (closed months)

A member's leave in a team (`absences`: requested, approved, rejected or cancelled, never
deleted) and what a sent report said (`report_snapshots`: the monthly report's figures when it
went out, so a closed month keeps them). Two new tables: an instance still on the previous
revision ignores them.

Revision ID: 0008_absences
Revises: 0007_invites
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kpi.models

revision = "0008_absences"
down_revision = "0007_invites"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "absences",
        sa.Column("id", big_id, nullable=False),
        sa.Column("team_id", big_id, nullable=False),
        sa.Column("member_id", big_id, nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", big_id, nullable=False),
        sa.Column("decided_by", big_id, nullable=True),
        sa.Column("decided_at", kpi.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", kpi.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_absences_team_id_teams")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_absences_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["members.id"], name=op.f("fk_absences_requested_by_members")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["members.id"], name=op.f("fk_absences_decided_by_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    op.create_index("ix_absences_team_id_first_day", "absences", ["team_id", "first_day"])
    op.create_table(
        "report_snapshots",
        sa.Column("id", big_id, nullable=False),
        sa.Column("team_id", big_id, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period_key", sa.String(length=32), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", kpi.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_report_snapshots_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshots")),
        sa.UniqueConstraint(
            "team_id",
            "kind",
            "period_key",
            name=op.f("uq_report_snapshots_team_id_kind_period_key"),
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("report_snapshots")
    op.drop_index("ix_absences_team_id_first_day", table_name="absences")
    op.drop_table("absences")
