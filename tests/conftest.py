"""Shared fixtures: a migrated database (SQLite file, or PostgreSQL via TEST_DATABASE_URL), the
real Application built by `build_application` on the sandbox transport, and a fake clock."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import build_application
from bot.config import Settings
from bot.sandbox import Sandbox, SandboxRequest, SandboxServer
from kpi import migrate
from kpi.db import Database, make_engine
from kpi.models import Base
from tests.support.chat import ADMIN_ID, Clock, Talk
from tests.support.database import PG_URL

# python-telegram-bot 22: opt in to RetryAfter.retry_after as a timedelta (the future default).
os.environ.setdefault("PTB_TIMEDELTA", "true")


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite template file, or the PostgreSQL schema."""
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrate.upgrade(engine)
        engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture
def db_url(_template: str, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database for one test."""
    if PG_URL:
        engine = make_engine(PG_URL)
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield PG_URL
        return
    path = tmp_path / "kpibot.db"
    shutil.copy(_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A Database on the test's database."""
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Clock:
    """Thursday 19 November 2026, 10:00 in Ho Chi Minh City (a working day)."""
    c = Clock(dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC))
    return c


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh offline Telegram."""
    return Sandbox()


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings for tests: the test database, one configured admin."""
    return Settings(token=None, database_url=db_url, admins=frozenset({ADMIN_ID}))


@pytest.fixture
async def app(
    settings: Settings, sandbox: Sandbox, db: Database, clock: Clock
) -> AsyncIterator[Any]:
    """The real Application from build_application, on the sandbox transport."""
    application = build_application(
        settings,
        request=SandboxRequest(sandbox),
        db=db,
        clock=clock,
        rate_limit=False,
        token=sandbox.token,
    )
    async with application:
        yield application
    application.bot_data.render_pool.shutdown(wait=True)


@pytest.fixture
def talk(app: Any, sandbox: Sandbox) -> Talk:
    """A conversation helper bound to the app and the sandbox."""
    return Talk(app, sandbox)


@pytest.fixture
async def team(talk: Talk, sandbox: Sandbox) -> Any:
    """A set-up team: leader Lan created the group and ran /setup; reps Minh and Hoa joined.

    Minh speaks Vietnamese and opened a private chat; Hoa uses English.
    """

    class Team:
        pass

    t = Team()
    t.leader = sandbox.user("Lan", last_name="Nguyễn", username="lan_sales", language_code="vi")
    t.minh = sandbox.user("Minh", last_name="Trần", username="minh_tran", language_code="vi")
    t.hoa = sandbox.user("Hoa", last_name="Lê", username="hoa_le", language_code="en")
    t.group = sandbox.group("Sales HCM", creator=t.leader, members=[t.minh, t.hoa])
    await talk.say(t.leader, t.group, "/setup")
    await talk.say(t.minh, t.group, "/join")
    await talk.say(t.hoa, t.group, "/join")
    t.minh_dm = sandbox.private(t.minh)
    t.hoa_dm = sandbox.private(t.hoa)
    t.leader_dm = sandbox.private(t.leader)
    return t


@pytest.fixture
def served(sandbox: Sandbox) -> Iterator[SandboxServer]:
    """The sandbox over HTTP on localhost (for `kpibot run` as a process)."""
    server = sandbox.serve()
    server.start()
    yield server
    server.stop()
