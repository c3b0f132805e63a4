"""QUALITY.md R8: a backup taken while check-ins are written restores every check-in committed
before it began, and opens without errors; a restore refuses a database a bot has open."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kpi import store
from kpi.backup import BackupError, backup, check, restore
from kpi.db import Database, sqlite_file
from kpi.models import Checkin, Member, Team
from kpi.store import EntryInput
from tests.support.database import on_postgres
from tests.support.processes import kpibot

pytestmark = pytest.mark.skipif(on_postgres(), reason="the SQLite backup API; PostgreSQL: pg_dump")


def _seed(db: Database) -> tuple[int, int]:
    with db.transaction() as s:
        team = Team(chat_id=-1001, title="Sales")
        member = Member(telegram_id=1, first_name="Minh")
        s.add_all([team, member])
        s.flush()
        return team.id, member.id


def _checkin(db: Database, team_id: int, member_id: int, n: int) -> int:
    with db.transaction() as s:
        checkin_id, _ = store.record_checkin(
            s,
            team_id=team_id,
            member_id=member_id,
            actor_id=member_id,
            source="command",
            day=dt.date(2026, 11, 19),
            entries=[EntryInput("calls", n)],
            now=dt.datetime.now(dt.UTC),
        )
        return checkin_id


def _ids(path: Path) -> set[int]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM checkins")}


def test_a_backup_while_check_ins_are_written_restores_every_earlier_one(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    team_id, member_id = _seed(db)
    committed: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def write() -> None:
        n = 1
        while not stop.is_set():
            checkin_id = _checkin(db, team_id, member_id, n)
            with lock:
                committed.append(checkin_id)
            n += 1

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        while len(committed) < 200:
            stop.wait(0.01)
        with lock:
            before = set(committed)
        source = sqlite_file(db_url)
        assert source is not None
        copy = tmp_path / "backup.db"
        assert backup(source, copy) > 10
        # Let the writers go on after the copy: the restore must not have their rows.
        target_count = len(committed) + 50
        while len(committed) < target_count:
            stop.wait(0.01)
    finally:
        stop.set()
        for w in writers:
            w.join()
    db.dispose()
    target = tmp_path / "restored.db"
    restore(copy, target)
    check(target)
    restored = _ids(target)
    assert before <= restored  # every check-in committed before the backup began
    assert restored <= set(committed)  # and nothing that never was
    assert len(restored) < len(committed)  # the writes after the copy are not in it
    restored_db = Database(f"sqlite:///{target}")
    try:
        with restored_db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(Checkin)) == len(restored)
    finally:
        restored_db.dispose()


def test_a_restore_refuses_a_database_the_bot_has_open(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    _seed(db)
    source = sqlite_file(db_url)
    assert source is not None
    copy = tmp_path / "copy.db"
    backup(source, copy)
    with pytest.raises(BackupError, match="exists already"):
        backup(source, copy)
    # The bot's pool keeps a connection open: the running bot's file is not overwritten.
    with db.transaction() as s:
        s.execute(select(1))
    with pytest.raises(BackupError, match="is the bot running"):
        restore(copy, source)
    db.dispose()
    restore(copy, source)
    with pytest.raises(BackupError, match="not a kpibot database"):
        bad = tmp_path / "bad.db"
        bad.write_bytes(b"not a database" * 100)
        check(bad)


def test_backup_and_restore_on_the_command_line(db: Any, db_url: str, tmp_path: Path) -> None:
    _seed(db)
    env = {"DATABASE_URL": db_url}
    made = kpibot(["backup", str(tmp_path / "b.db")], tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert "checked" in made.stdout
    busy = kpibot(["restore", str(tmp_path / "b.db")], tmp_path, env=env)
    assert busy.returncode == 1 and "is the bot running" in busy.stderr
    db.dispose()
    done = kpibot(["restore", str(tmp_path / "b.db")], tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    pg = kpibot(["backup", "x.db"], tmp_path, env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert pg.returncode == 2 and "pg_dump" in pg.stderr
