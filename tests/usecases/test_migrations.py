"""Schema migrations: the revisions build exactly the models' schema, and keep data (R7)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, select, update

from kpi import inbox, migrate, store
from kpi.db import Database
from kpi.models import (
    Activity,
    Base,
    InboxUpdate,
    KpiDefinition,
    Member,
    Metric,
    ScheduledRun,
    Team,
)
from kpi.posts import claims as run_claims
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


def test_revision_0002_keeps_every_row_and_an_instance_on_0001_still_fits(db: Database) -> None:
    """R7 for revision 0002, and a rolling upgrade: what an instance still on 0001 writes
    (no outbox, no attempt flag) fits the new schema, and reads as "may have been sent"."""
    now = dt.datetime(2026, 11, 19, 11, tzinfo=dt.UTC)

    def old_claim(team_id: int, period: str) -> dict[str, object]:
        # The columns 0001's code knows (Core insert: the new nullable ones stay unset).
        return {
            "team_id": team_id,
            "kind": "daily_summary",
            "period_key": period,
            "chat_id": -1,
            "status": "claimed",
            "instance": "old",
            "attempts": 1,
            "due_at": now,
            "claimed_at": now,
        }

    try:
        migrate.downgrade(db.engine, "0001")
        assert migrate.current_revision(db.engine) == "0001"
        with db.transaction() as s:
            team = Team(chat_id=-1, title="T", settings={})
            s.add(team)
            s.flush()
            team_id = team.id
            s.execute(insert(ScheduledRun.__table__).values(**old_claim(team_id, "2026-11-18")))
        migrate.upgrade(db.engine, "0002")
        assert migrate.current_revision(db.engine) == "0002"
        with db.transaction() as s:
            s.execute(insert(ScheduledRun.__table__).values(**old_claim(team_id, "2026-11-19")))
            runs = s.execute(select(ScheduledRun.period_key, ScheduledRun.attempted)).all()
            assert sorted(tuple(r) for r in runs) == [("2026-11-18", None), ("2026-11-19", None)]
            assert s.scalar(select(func.count()).select_from(Team)) == 1
        with db.transaction() as s:
            # Old claims never recorded whether they were sent: stale, they are uncertain.
            assert run_claims.expire_stale(s, now + dt.timedelta(hours=1)) == 2
    finally:
        migrate.upgrade(db.engine)


def test_revision_0005_keeps_every_name_in_every_language(db: Database) -> None:
    """R7 for revision 0005: name_vi / name_en become one `names` mapping per row, and back."""
    old = {
        table: sa.table(table, sa.column("key"), sa.column("name_vi"), sa.column("name_en"))
        for table in ("metrics", "kpi_definitions")
    }

    def old_names(table: str) -> dict[str, tuple[str, str]]:
        t = old[table]
        with db.transaction() as s:
            return {
                k: (vi, en) for k, vi, en in s.execute(select(t.c.key, t.c.name_vi, t.c.name_en))
            }

    with db.transaction() as s:
        team = Team(chat_id=-1, title="T", settings={})
        s.add(team)
        s.flush()
        s.add_all(
            [
                Metric(
                    team_id=team.id,
                    key="calls",
                    names={"vi": "gọi", "en": "dials"},
                    daily_bound=300,
                ),
                Metric(team_id=team.id, key="visits", names={"en": "visits"}, daily_bound=30),
                KpiDefinition(
                    team_id=team.id,
                    key="calls",
                    names={"vi": "Gọi", "en": "Dials"},
                    unit="count",
                    source="metric:calls",
                ),
            ]
        )
    try:
        migrate.downgrade(db.engine, "0004")
        # A name missing in one language takes the other's: the old columns were both required.
        assert old_names("metrics") == {"calls": ("gọi", "dials"), "visits": ("visits", "visits")}
        assert old_names("kpi_definitions") == {"calls": ("Gọi", "Dials")}
        with db.transaction() as s:
            # An instance still on 0004 renames a metric while the upgrade rolls out.
            t = old["metrics"]
            s.execute(update(t).where(t.c.key == "calls").values(name_en="phone calls"))
        migrate.upgrade(db.engine)
        with db.transaction() as s:
            metrics = {k: v for k, v in s.execute(select(Metric.key, Metric.names))}
            kpis = {k: v for k, v in s.execute(select(KpiDefinition.key, KpiDefinition.names))}
        assert metrics == {
            "calls": {"vi": "gọi", "en": "phone calls"},
            "visits": {"vi": "visits", "en": "visits"},
        }
        assert kpis == {"calls": {"vi": "Gọi", "en": "Dials"}}
    finally:
        migrate.upgrade(db.engine)


def test_an_instance_whose_schema_is_behind_the_databases_runs_on_it(
    db: Database, caplog: Any
) -> None:
    """While an upgrade rolls, an instance of the previous version that restarts finds a
    revision it does not ship: it starts on the newer schema instead of failing."""
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_newer'"))
    with caplog.at_level(logging.WARNING, logger="kpi.migrate"):
        migrate.upgrade(db.engine)
    assert "newer than this version's" in caplog.text
    assert migrate.current_revision(db.engine) == "9999_newer"
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE alembic_version SET version_num = :v"),
            {"v": migrate.head_revision()},
        )


def test_updates_an_older_version_stored_get_a_lane_once_it_had_its_time(db: Database) -> None:
    """The previous version stores inbox rows without a lane and handles them itself (it leases
    nothing); a newer instance gives them their chat's lane only after a grace, so that a chat's
    update is not handled by two versions at once, and a crashed old instance loses nothing."""
    now = dt.datetime(2026, 11, 19, 3, tzinfo=dt.UTC)
    message = {"message_id": 1, "date": 0, "chat": {"id": -100}, "text": "/help"}
    with db.transaction() as s:
        for key, age in (("old", 60), ("recent", 5)):
            s.execute(
                insert(InboxUpdate).values(
                    key=key,
                    update_id=1 if key == "old" else 2,
                    payload={"update_id": 1, "message": message},
                    received_at=now - dt.timedelta(seconds=age),
                )
            )
        assert inbox.fill_lanes(s, now) == 1
        lanes = dict(s.execute(select(InboxUpdate.key, InboxUpdate.lane)).all())
    assert lanes == {"old": "-100", "recent": None}
    # What this version stores has its lane at once: a chat's, or its own without a chat.
    assert inbox.lane_of("k", {"update_id": 3, "message": message}) == "-100"
    query = {"id": "1", "from": {"id": 5}, "chat_instance": "x", "data": "a"}
    assert inbox.lane_of("k", {"update_id": 4, "callback_query": query}) == "u:k"
    answer = {**query, "message": message}
    assert inbox.lane_of("k", {"update_id": 5, "callback_query": answer}) == "-100"


def test_the_head_read_without_alembic_is_alembics_head() -> None:
    """`kpibot run` skips Alembic when the database is at the head the files name."""
    assert migrate.shipped_head() == migrate.head_revision()
