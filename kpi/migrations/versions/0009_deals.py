"""a photo of the contract on a check-in

A rep may attach a photo of the contract to a deal (a photo captioned `/deal …`, or a photo sent
as a reply to the deal's confirmation); the check-in keeps Telegram's file_id, so leaders are
shown the photo with the approval request. Approval and flags use the existing `status`,
`approved_by`, `approved_at` and `flags` columns of `activities`. An instance still on the
previous revision ignores the new column.

Revision ID: 0009_deals
Revises: 0008_absences
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_deals"
down_revision = "0008_absences"
branch_labels = None
depends_on = None


# A plain ADD / DROP COLUMN on both backends (SQLite >= 3.35): batch mode would rebuild
# `checkins`, which `activities` references, and SQLite refuses to drop it with foreign keys on.


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("checkins", sa.Column("photo_file_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    op.execute("ALTER TABLE checkins DROP COLUMN photo_file_id")
