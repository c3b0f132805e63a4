"""rows imported from spreadsheets

A spreadsheet imported twice must not count twice: each imported row leaves its key (a hash of
its normalised content and its occurrence among identical rows of the file) per team. Imported
check-ins carry `source = "import"` and their entries the `imported` flag, and members not yet
linked to Telegram have no `telegram_id`: both fit the existing columns, so this revision only
adds the key table. An instance still on the previous revision ignores it.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kpi.models

revision = "0006"
# Re-point to "0005" when merged after the language revision.
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "import_rows",
        sa.Column("id", big_id, nullable=False),
        sa.Column("team_id", big_id, nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("checkin_id", big_id, nullable=True),
        sa.Column("imported_by", big_id, nullable=True),
        sa.Column("created_at", kpi.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkins.id"], name=op.f("fk_import_rows_checkin_id_checkins")
        ),
        sa.ForeignKeyConstraint(
            ["imported_by"], ["members.id"], name=op.f("fk_import_rows_imported_by_members")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_import_rows_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_rows")),
        sa.UniqueConstraint("team_id", "row_key", name=op.f("uq_import_rows_team_id_row_key")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("import_rows")
