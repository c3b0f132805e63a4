"""invite links: hashed tokens, single use

An invite link's token is a secret that joins a team: the database keeps only its SHA-256
(`token_hash`), so a copy of the database or a backup cannot be turned into working links. A
link may be single-use (`single_use`). Rows written before this revision (nothing created them
yet) keep working: their tokens are hashed in place.

Revision ID: 0007_invites
Revises: 0006
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0007_invites"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    invites = sa.table("invites", sa.column("id", sa.BigInteger), sa.column("token", sa.String))
    conn = op.get_bind()
    plain = conn.execute(sa.select(invites.c.id, invites.c.token)).all()
    for row_id, token in plain:
        hashed = hashlib.sha256(str(token).encode("utf-8")).hexdigest()
        conn.execute(invites.update().where(invites.c.id == row_id).values(token=hashed))
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint("uq_invites_token", type_="unique")
        batch_op.alter_column(
            "token", new_column_name="token_hash", existing_type=sa.String(length=64)
        )
        batch_op.add_column(
            sa.Column("single_use", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # A second batch: SQLite's copy of the table loses a constraint on a column renamed in
    # the same batch.
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_invites_token_hash", ["token_hash"])


def downgrade() -> None:
    """Revert this revision (hashed tokens stay hashed: those links no longer open)."""
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint("uq_invites_token_hash", type_="unique")
        batch_op.drop_column("single_use")
        batch_op.alter_column(
            "token_hash", new_column_name="token", existing_type=sa.String(length=64)
        )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_invites_token", ["token"])
