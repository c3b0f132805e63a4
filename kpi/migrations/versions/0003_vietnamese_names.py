"""vietnamese names of built-in metrics and KPIs (wording review)

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-05 10:00:00

A data migration only: teams copy the built-in names into their own rows at /setup, so the
renamed defaults reach existing teams here. A name is changed only while it still holds the old
default; a name a leader chose stays as it is. The old names stay understood as words people
type (kpi.parsing.DEFAULT_ALIASES, KpiSpec.former_names).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, key, old name_vi, new name_vi). Written out here, not read from kpi.catalog: a
# migration must keep doing what it did when the code around it changes.
RENAMES: tuple[tuple[str, str, str, str], ...] = (
    ("metrics", "leads", "khách hàng tiềm năng", "khách tiềm năng"),
    ("metrics", "lost", "giao dịch thất bại", "hợp đồng trượt"),
    ("kpi_definitions", "leads", "Khách hàng tiềm năng mới", "Khách tiềm năng mới"),
    ("kpi_definitions", "lost", "Giao dịch thất bại", "Hợp đồng trượt"),
    (
        "kpi_definitions",
        "average_deal_value",
        "Giá trị đơn hàng trung bình",
        "Giá trị hợp đồng trung bình",
    ),
    (
        "kpi_definitions",
        "call_conversion",
        "Tỷ lệ chuyển đổi cuộc gọi",
        "Tỷ lệ chuyển đổi cuộc gọi → hợp đồng",
    ),
    (
        "kpi_definitions",
        "lead_conversion",
        "Tỷ lệ kiếm được khách hàng",
        "Tỷ lệ chuyển đổi khách tiềm năng",
    ),
    (
        "kpi_definitions",
        "reps_on_target",
        "Tỷ lệ sale đạt chỉ tiêu",
        "Tỷ lệ nhân viên đạt chỉ tiêu",
    ),
)


def _table(name: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("key", sa.String),
        sa.column("name_vi", sa.String),
        sa.column("builtin", sa.Boolean),
    )


def _rename(forward: bool) -> None:
    for table, key, old, new in RENAMES:
        before, after = (old, new) if forward else (new, old)
        t = _table(table)
        op.execute(
            sa.update(t)
            .where(t.c.key == key, t.c.name_vi == before, t.c.builtin == sa.true())
            .values(name_vi=after)
        )


def upgrade() -> None:
    """Apply this revision."""
    _rename(forward=True)


def downgrade() -> None:
    """Revert this revision."""
    _rename(forward=False)
