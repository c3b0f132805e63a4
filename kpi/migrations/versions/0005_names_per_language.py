"""names of metrics and KPIs per language (one JSON column instead of name_vi / name_en)

A metric's or KPI's name in every language lives in one `names` column, {"vi": ..., "en": ...},
so that adding a language adds a key, not a column. The data moves with the schema: each row's
name_vi and name_en become its names; downgrading writes them back (a language other than these
two is dropped then, a missing one takes the other's name).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("metrics", "kpi_definitions")


def _table(name: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("id", sa.BigInteger),
        sa.column("name_vi", sa.String),
        sa.column("name_en", sa.String),
        sa.column("names", sa.JSON),
    )


def _move(name: str, forward: bool) -> None:
    """Copy one table's names between the two shapes, row by row (a few dozen per team)."""
    t = _table(name)
    bind = op.get_bind()
    if forward:
        rows = bind.execute(sa.select(t.c.id, t.c.name_vi, t.c.name_en)).all()
        values = [{"row_id": i, "names": {"vi": vi, "en": en}} for i, vi, en in rows]
        stmt = sa.update(t).where(t.c.id == sa.bindparam("row_id"))
        if values:
            bind.execute(stmt.values(names=sa.bindparam("names")), values)
        return
    back = []
    for row_id, names in bind.execute(sa.select(t.c.id, t.c.names)).all():
        names = names or {}
        vi = names.get("vi") or names.get("en") or next(iter(names.values()), "")
        back.append({"row_id": row_id, "vi": vi, "en": names.get("en") or vi})
    if back:
        stmt = sa.update(t).where(t.c.id == sa.bindparam("row_id"))
        bind.execute(stmt.values(name_vi=sa.bindparam("vi"), name_en=sa.bindparam("en")), back)


def upgrade() -> None:
    """Apply this revision."""
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("names", sa.JSON(), nullable=True))
        _move(name, forward=True)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("names", existing_type=sa.JSON(), nullable=False)
            batch_op.drop_column("name_vi")
            batch_op.drop_column("name_en")


def downgrade() -> None:
    """Revert this revision."""
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("name_vi", sa.String(length=100), nullable=True))
            batch_op.add_column(sa.Column("name_en", sa.String(length=100), nullable=True))
        _move(name, forward=False)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("name_vi", existing_type=sa.String(length=100), nullable=False)
            batch_op.alter_column("name_en", existing_type=sa.String(length=100), nullable=False)
            batch_op.drop_column("names")
