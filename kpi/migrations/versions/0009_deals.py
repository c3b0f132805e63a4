"""a photo of the contract on a check-in

A rep may attach a photo of the contract to a deal (a photo captioned `/deal …`, or a photo sent
as a reply to the deal's confirmation); the check-in keeps Telegram's file_id, so leaders are
shown the photo with the approval request. Approval and flags use the existing `status`,
`approved_by`, `approved_at` and `flags` columns of `activities`. An instance still on the
previous revision ignores the new column.

Revision ID: 0009_deals
Revises: 0006
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_deals"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photo_file_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_column("photo_file_id")
