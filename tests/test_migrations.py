"""Schema migrations: the revisions build exactly the models' schema, and keep data (R7)."""

from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from kpi import migrate, store
from kpi.db import Database
from kpi.models import Activity, Base, Member, Team
from kpi.store import EntryInput


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_upgrade_again_keeps_every_row(db: Database) -> None:
    now = dt.datetime(2026, 11, 19, 3, tzinfo=dt.UTC)
    with db.transaction() as s:
        team = Team(chat_id=-1, title="T", settings={})
        member = Member(telegram_id=1, first_name="A")
        s.add_all([team, member])
        s.flush()
        store.record_checkin(
            s,
            team_id=team.id,
            member_id=member.id,
            actor_id=member.id,
            source="import",
            day=dt.date(2026, 11, 19),
            entries=[EntryInput("calls", 3), EntryInput("deals", 1, amount=2_000_000_000)],
            now=now,
        )
    migrate.upgrade(db.engine)  # at head already: a no-op that must not touch data
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == 2
        # 2 tỷ does not fit in 32 bits: money is a 64-bit integer on every backend.
        assert s.scalar(select(func.max(Activity.amount))) == 2_000_000_000
