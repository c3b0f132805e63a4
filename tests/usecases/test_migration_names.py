"""Revision 0003: existing teams get the reviewed Vietnamese names; names leaders chose stay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, update

from kpi import migrate
from kpi.db import Database
from kpi.models import Activity, KpiDefinition, Metric
from tests.support.chat import Talk

REVISION = "0003"
# What /setup wrote before the review (the old defaults, as teams hold them).
OLD_METRICS = {"leads": "khách hàng tiềm năng", "lost": "giao dịch thất bại"}
NEW_METRICS = {"leads": "khách tiềm năng", "lost": "hợp đồng trượt"}
OLD_KPIS = {
    "leads": "Khách hàng tiềm năng mới",
    "lost": "Giao dịch thất bại",
    "average_deal_value": "Giá trị đơn hàng trung bình",
    "call_conversion": "Tỷ lệ chuyển đổi cuộc gọi",
    "lead_conversion": "Tỷ lệ kiếm được khách hàng",
    "reps_on_target": "Tỷ lệ sale đạt chỉ tiêu",
}
NEW_KPIS = {
    "leads": "Khách tiềm năng mới",
    "lost": "Hợp đồng trượt",
    "average_deal_value": "Giá trị hợp đồng trung bình",
    "call_conversion": "Tỷ lệ chuyển đổi cuộc gọi → hợp đồng",
    "lead_conversion": "Tỷ lệ chuyển đổi khách tiềm năng",
    "reps_on_target": "Tỷ lệ nhân viên đạt chỉ tiêu",
}


def before_revision() -> str:
    """Return the revision 0003 follows (re-pointed when revisions are merged)."""
    rev = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(REVISION)
    assert rev is not None and isinstance(rev.down_revision, str)
    return rev.down_revision


@pytest.fixture
def at_head(db: Database) -> Iterator[Database]:
    """The test's database, brought back to head whatever the test did (PostgreSQL is shared)."""
    try:
        yield db
    finally:
        migrate.upgrade(db.engine)


def names(db: Database, model: Any) -> dict[str, str]:
    """Return the Vietnamese names by key, in the schema the database is at (0005 moved them)."""
    table = model.__tablename__
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns(table)}
    with db.transaction() as s:
        if "name_vi" in columns:
            old = sa.table(table, sa.column("key"), sa.column("name_vi"))
            return {k: v for k, v in s.execute(select(old.c.key, old.c.name_vi))}
        return {k: v["vi"] for k, v in s.execute(select(model.key, model.names))}


def old_names(model: Any) -> sa.TableClause:
    """Return a table as revisions before 0005 shaped it (names in name_vi / name_en)."""
    return sa.table(
        model.__tablename__, sa.column("key"), sa.column("name_vi"), sa.column("name_en")
    )


def test_setup_writes_the_reviewed_names(team: Any, db: Database) -> None:
    metrics, kpis = names(db, Metric), names(db, KpiDefinition)
    assert {k: metrics[k] for k in NEW_METRICS} == NEW_METRICS
    assert {k: kpis[k] for k in NEW_KPIS} == NEW_KPIS


async def test_existing_teams_get_the_new_names_and_keep_their_rows(
    talk: Talk, team: Any, at_head: Database
) -> None:
    db = at_head
    await talk.say(team.minh, team.minh_dm, "/call 3")
    await talk.say(team.minh, team.minh_dm, "/mat Bình Minh")
    # Back to the schema before 0003: the names are the old defaults again, as old teams hold.
    migrate.downgrade(db.engine, before_revision())
    metrics, kpis = names(db, Metric), names(db, KpiDefinition)
    assert {k: metrics[k] for k in OLD_METRICS} == OLD_METRICS
    assert {k: kpis[k] for k in OLD_KPIS} == OLD_KPIS
    # A leader renamed two of them; those names are theirs.
    with db.transaction() as s:
        metric, kpi = old_names(Metric), old_names(KpiDefinition)
        s.execute(update(metric).where(metric.c.key == "leads").values(name_vi="data khách"))
        s.execute(update(kpi).where(kpi.c.key == "lost").values(name_vi="Mất khách"))
        rows_before = s.scalar(select(func.count()).select_from(Activity))
        kpi_rows_before = s.scalar(select(func.count()).select_from(KpiDefinition))

    migrate.upgrade(db.engine)

    metrics, kpis = names(db, Metric), names(db, KpiDefinition)
    assert metrics["lost"] == "hợp đồng trượt"
    assert metrics["leads"] == "data khách"
    assert kpis["lost"] == "Mất khách"
    assert {k: kpis[k] for k in NEW_KPIS if k != "lost"} == {
        k: v for k, v in NEW_KPIS.items() if k != "lost"
    }
    assert kpis["calls"] == "Cuộc gọi" and metrics["calls"] == "cuộc gọi"  # untouched
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == rows_before == 2
        assert s.scalar(select(func.count()).select_from(KpiDefinition)) == kpi_rows_before
    # The bot speaks the new name, and the old one is still understood.
    text = await talk.reply(team.minh, team.minh_dm, "/log giao dịch thất bại 1")
    assert text.splitlines()[0] == "✅ +1 hợp đồng trượt"


def test_downgrade_leaves_names_a_leader_chose(team: Any, at_head: Database) -> None:
    db = at_head
    with db.transaction() as s:
        kdef = s.scalars(select(KpiDefinition).where(KpiDefinition.key == "reps_on_target")).one()
        kdef.names = {**kdef.names, "vi": "Số người đạt"}
    migrate.downgrade(db.engine, before_revision())
    kpis = names(db, KpiDefinition)
    assert kpis["reps_on_target"] == "Số người đạt"
    assert kpis["lead_conversion"] == OLD_KPIS["lead_conversion"]
