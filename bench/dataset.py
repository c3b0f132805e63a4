"""Synthetic organisations for the P2 benchmark: teams and people through `kpi`, activity in bulk.

Teams, people, memberships and targets are created with the same `kpi.teams` / `kpi.targets`
functions the bot uses, so they look exactly like the bot's own. The year of activity (millions
of rows) is written with plain SQL in one connection: `INSERT ... SELECT` over small driver
tables, with the activity indexes dropped during the load and rebuilt from their own stored DDL
afterwards, which is an order of magnitude faster than maintaining them row by row.

The numbers are a deterministic function of (person index, day, metric), not of the database
that holds them: a file built with only the first team holds exactly that team's rows of the
full file, which is what the "rest of the database empty" reference needs.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from kpi import migrate
from kpi.db import make_engine
from kpi.models import Team
from kpi.targets import set_target
from kpi.teams import PersonInfo, TeamDefaults, join_team, setup_team, upsert_member

# Per metric: how often a person logs it on a working day (per mille; a quarter of that on a
# weekend), the range of the count, and whether it carries money. About 5.2 rows per person on
# a weekday and 1.3 on a weekend day, so 2,000 people over 365 days give about 3M rows.
_METRICS: tuple[tuple[str, int, int, int, bool], ...] = (
    ("calls", 1000, 5, 40, False),
    ("emails", 900, 1, 30, False),
    ("meetings", 800, 1, 4, False),
    ("leads", 700, 1, 6, False),
    ("demos", 500, 1, 2, False),
    ("proposals", 500, 1, 3, False),
    ("deals", 500, 1, 2, True),
    ("lost", 300, 1, 2, False),
)
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng")
_GIVEN = (
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Hà",
    "Hải",
    "Hoa",
    "Hùng",
    "Lan",
    "Linh",
    "Minh",
    "Nam",
    "Ngọc",
    "Phương",
    "Quân",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
)
_CHAT_BASE = -1_002_100_000_000
_TELEGRAM_BASE = 500_000_000


@dataclass(frozen=True)
class Scale:
    """How big an organisation to build."""

    teams: int
    members_per_team: int
    days: int

    @property
    def members(self) -> int:
        """Return the number of people."""
        return self.teams * self.members_per_team


@dataclass(frozen=True)
class Dataset:
    """A built database file and what is in it."""

    path: Path
    scale: Scale
    end_day: dt.date
    teams: int
    members: int
    activities: int
    checkins: int
    seconds: float

    @property
    def url(self) -> str:
        """Return the SQLAlchemy URL of the file."""
        return f"sqlite:///{self.path}"


def person_name(index: int) -> tuple[str, str]:
    """Return a deterministic Vietnamese (family, given) name for a person index."""
    return _FAMILY[index % len(_FAMILY)], _GIVEN[(index // len(_FAMILY)) % len(_GIVEN)]


def ensure(
    path: Path, scale: Scale, end_day: dt.date, *, only_first_team: bool = False
) -> Dataset:
    """Return the dataset at `path`, building it first unless a finished one is there.

    A dataset kept from an earlier run is brought up to the current schema first (the
    migrations keep data), so `--workdir` survives a new revision.
    """
    if path.exists():
        engine = make_engine(f"sqlite:///{path}")
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        return _describe(path, scale, end_day, 0.0)
    return build(path, scale, end_day, only_first_team=only_first_team)


def build(path: Path, scale: Scale, end_day: dt.date, *, only_first_team: bool = False) -> Dataset:
    """Create a migrated SQLite file holding the organisation (or just its first team)."""
    started = time.perf_counter()
    if path.exists():
        raise FileExistsError(path)
    # Built under another name and renamed when complete: an interrupted build is never reused.
    part = path.with_name(path.name + ".part")
    for leftover in (part, Path(f"{part}-wal"), Path(f"{part}-shm")):
        leftover.unlink(missing_ok=True)
    teams = 1 if only_first_team else scale.teams
    start_day = end_day - dt.timedelta(days=scale.days - 1)
    engine = make_engine(f"sqlite:///{part}")
    try:
        migrate.upgrade(engine)
        with Session(engine) as session, session.begin():
            people = _create_people(session, teams, scale.members_per_team, start_day)
    finally:
        engine.dispose()
    _load_activity(part, people, start_day, scale.days)
    part.rename(path)
    return _describe(path, scale, end_day, time.perf_counter() - started)


def _describe(path: Path, scale: Scale, end_day: dt.date, seconds: float) -> Dataset:
    conn = sqlite3.connect(path)
    try:
        teams, members, activities, checkins = (
            int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("teams", "members", "activities", "checkins")
        )
    finally:
        conn.close()
    return Dataset(path, scale, end_day, teams, members, activities, checkins, seconds)


def _create_people(
    session: Session, teams: int, per_team: int, start_day: dt.date
) -> list[tuple[int, int, int, int]]:
    """Create teams and memberships; return (person index, member id, team id, chat id)."""
    joined_at = dt.datetime.combine(start_day, dt.time(2, 0), tzinfo=dt.UTC)
    defaults = TeamDefaults()
    out: list[tuple[int, int, int, int]] = []
    for t in range(teams):
        chat_id = _CHAT_BASE - t
        team_id = 0
        for i in range(per_team):
            index = t * per_team + i
            family, given = person_name(index)
            member = upsert_member(
                session,
                PersonInfo(_TELEGRAM_BASE + index, given, family, None, "vi"),
                joined_at,
            )
            if i == 0:
                result = setup_team(
                    session,
                    chat_id=chat_id,
                    title=f"Kinh doanh {t + 1:02d}",
                    leader=member,
                    defaults=defaults,
                    today=start_day,
                )
                team_id = result.team_id
                leader_id = member.id
            else:
                team = session.get(Team, team_id)
                assert team is not None
                join_team(session, team, member, start_day)
            if i % 10 == 3:
                # A few personal revenue targets, as leaders set for seniors and newcomers.
                set_target(
                    session,
                    team_id=team_id,
                    kpi_key="revenue",
                    period="month",
                    value=150_000_000.0 + 10_000_000.0 * (i % 7),
                    member_id=member.id,
                    actor_id=leader_id,
                    today=start_day,
                    now=joined_at,
                )
            out.append((index, member.id, team_id, chat_id))
    return out


def _load_activity(
    path: Path, people: list[tuple[int, int, int, int]], start_day: dt.date, days: int
) -> None:
    """Bulk-load the check-ins and activity rows of everybody in `people`."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('activities', 'checkins')"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        _driver_tables(conn, people, start_day, days)
        n = len(people)
        # Rows go in the order people log them: day by day, the teams' people interleaved, so
        # that one team's rows are spread over the file as they would be in production.
        conn.execute(
            f"""
            INSERT INTO activities (checkin_id, team_id, member_id, metric, day, value, amount,
                customer, is_new_customer, note, status, flags, created_at, updated_at)
            SELECT
                r.dn * {n} + r.idx + 1,
                r.team_id, r.member_id, r.metric, r.day,
                r.lo + (r.h2 % (r.hi - r.lo + 1)),
                CASE WHEN r.money THEN (r.lo + (r.h2 % (r.hi - r.lo + 1)))
                    * (5 + r.h3 % 60) * 5000000 END,
                CASE WHEN r.money THEN 'Khách hàng ' || (r.h3 % 700) END,
                r.money AND r.h3 % 10 < 3,
                NULL,
                CASE WHEN r.h1 % 89 = 0 THEN 'voided' ELSE 'active' END,
                NULL,
                r.stamp,
                r.stamp
            FROM (
                SELECT s.*, (s.h2 * 48271) % 2147483647 AS h3,
                    s.day || ' 0' || (1 + s.h2 % 9) || ':' || (10 + s.h1 % 50)
                        || ':00.000000' AS stamp
                FROM (
                    SELECT q.*, (q.h1 * 48271) % 2147483647 AS h2
                    FROM (
                        SELECT d.n AS dn, d.day, d.working, p.pos, p.idx, p.member_id,
                            p.team_id, m.k, m.metric, m.prob, m.lo, m.hi, m.money,
                            ((p.idx * 7919 + d.n * 104729 + m.k * 15485863) % 2147483647
                                * 16807) % 2147483647 AS h1
                        FROM b_days AS d CROSS JOIN b_people AS p CROSS JOIN b_metrics AS m
                    ) AS q
                    WHERE q.h1 % 1000 < CASE WHEN q.working THEN q.prob ELSE q.prob / 4 END
                ) AS s
            ) AS r
            ORDER BY r.dn, r.pos, r.k
            """
        )
        conn.execute(
            """
            INSERT INTO checkins (id, team_id, member_id, actor_id, source, chat_id, message_id,
                text, day, status, created_at)
            SELECT a.checkin_id, a.team_id, a.member_id, a.member_id, 'command', p.chat_id,
                a.checkin_id, NULL, a.day,
                CASE WHEN max(a.status = 'active') THEN 'active' ELSE 'voided' END,
                min(a.created_at)
            FROM activities AS a JOIN b_people AS p ON p.member_id = a.member_id
            GROUP BY a.checkin_id
            ORDER BY a.checkin_id
            """
        )
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def _driver_tables(
    conn: sqlite3.Connection,
    people: list[tuple[int, int, int, int]],
    start_day: dt.date,
    days: int,
) -> None:
    """Create the small temporary tables the bulk INSERT multiplies together."""
    conn.execute("CREATE TEMP TABLE b_days (n INTEGER PRIMARY KEY, day TEXT, working INTEGER)")
    conn.executemany(
        "INSERT INTO b_days VALUES (?, ?, ?)",
        [
            (n, day.isoformat(), int(day.weekday() < 5))
            for n, day in ((n, start_day + dt.timedelta(days=n)) for n in range(days))
        ],
    )
    conn.execute(
        "CREATE TEMP TABLE b_people (pos INTEGER PRIMARY KEY, idx INTEGER, member_id INTEGER,"
        " team_id INTEGER, chat_id INTEGER)"
    )
    n = len(people)
    # A fixed stride coprime with n walks through everybody once, mixing the teams.
    stride = next(s for s in (7919, 7907, 7901, 1) if _coprime(s, n))
    order = sorted(people, key=lambda p: (p[0] * stride) % n)
    conn.executemany(
        "INSERT INTO b_people VALUES (?, ?, ?, ?, ?)",
        [(pos, *row) for pos, row in enumerate(order)],
    )
    conn.execute(
        "CREATE TEMP TABLE b_metrics (k INTEGER PRIMARY KEY, metric TEXT, prob INTEGER,"
        " lo INTEGER, hi INTEGER, money INTEGER)"
    )
    conn.executemany(
        "INSERT INTO b_metrics VALUES (?, ?, ?, ?, ?, ?)",
        [(k, *spec) for k, spec in enumerate(_METRICS)],
    )


def _coprime(a: int, b: int) -> bool:
    while b:
        a, b = b, a % b
    return a == 1
