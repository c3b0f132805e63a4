"""P4: digest fan-out (QUALITY.md): a day's summaries for 500 teams through the rate limiter.

Every team is a group chat of a sandbox that enforces Telegram's flood limits over sliding
windows on the real clock (the rate limiter sleeps in real time). The bot is the real one from
`bot.app.build_application`, rate limiter on; the timed step is `Scheduler(app).run_due` at 18:00
local time on a Thursday, when only the daily summary is due: one text message per group.

The reference is the floor the limits set. With at most 30 messages in any sliding second,
message k (counting from 0) cannot go out sooner than k // 30 seconds after the first, so n
messages take at least (n - 1) // 30 seconds, 16 s for 500 (the steady-rate figure, 500 / 30 =
16.7 s, is beaten by a sender that fills each window at once); a chat's own limit works alike.
Goals: time <= 1.1 x floor, no flood-control answer, every group its summary exactly once.

The full run also reports the same fan-out over 50 ms round trips (no goal): `run_due` serves
teams concurrently, since a loop that awaits each send before the next cannot beat one post per
round trip, whatever the limits allow.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bench.core import Figure, Note
from bot.app import build_application
from bot.config import Settings
from bot.sandbox import FloodLimits, Sandbox, SandboxRequest, SChat
from bot.scheduler import Scheduler
from kpi import migrate
from kpi.db import make_engine
from kpi.models import Team
from kpi.store import EntryInput, record_checkin
from kpi.teams import PersonInfo, TeamDefaults, join_team, setup_team, upsert_member

log = logging.getLogger(__name__)

FULL_TEAMS = 500
# (240 - 1) // 30 = 7 s of floor: long enough that the fixed cost of preparing the first post
# and recording the last window's posts (about 0.3 s) stays small beside it.
QUICK_TEAMS = 240
MEMBERS_PER_TEAM = 4
GOAL = 1.1
ROUND_TRIP = 0.05
# Posts in flight at once: enough to fill a window of the overall limit while the previous
# window's posts are still being recorded.
FANOUT_CONCURRENCY = 32

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
# A Thursday in mid-month: at 18:00 only the daily summary is due (no weekly, monthly or digest).
DAY = dt.date(2026, 11, 19)
NOW = dt.datetime.combine(DAY, dt.time(18, 0), HCM).astimezone(dt.UTC)
_USER_BASE = 300_000_000


@dataclass(frozen=True)
class Fanout:
    """What one timed `run_due` did."""

    teams: int
    messages: int
    seconds: float
    floor: float
    flood_answers: int
    exactly_once: int  # groups that got exactly one message
    reported_sent: int

    @property
    def ratio(self) -> float:
        """Return the time over the floor."""
        return self.seconds / self.floor if self.floor > 0 else float("inf")


def floor_seconds(per_chat: Mapping[int, int], limits: FloodLimits) -> float:
    """Return the least time the limits allow between the first and the last of these sends."""
    total = sum(per_chat.values())
    if total == 0:
        return 0.0
    floor = ((total - 1) // limits.overall) * limits.overall_window
    for chat_id, count in per_chat.items():
        if count == 0:
            continue
        if chat_id > 0:
            limit, window = limits.private, limits.private_window
        else:
            limit, window = limits.group, limits.group_window
        floor = max(floor, ((count - 1) // limit) * window)
    return floor


def add_groups(sandbox: Sandbox, teams: int) -> list[SChat]:
    """Create the teams' people and group chats in the sandbox (same ids in every sandbox)."""
    groups = []
    for t in range(teams):
        people = [
            sandbox.user(f"Người {i}", last_name=f"Đội {t + 1}", user_id=_person_id(t, i))
            for i in range(MEMBERS_PER_TEAM)
        ]
        groups.append(sandbox.group(f"Kinh doanh {t + 1}", creator=people[0], members=people[1:]))
    return groups


def _person_id(team: int, i: int) -> int:
    return _USER_BASE + team * MEMBERS_PER_TEAM + i


def add_teams(session: Session, groups: Sequence[SChat]) -> None:
    """Set up one team per group, as /setup and /join do, and log most members' day."""
    defaults = TeamDefaults()
    joined = dt.datetime.combine(DAY - dt.timedelta(days=30), dt.time(9), HCM).astimezone(dt.UTC)
    logged_at = dt.datetime.combine(DAY, dt.time(16), HCM).astimezone(dt.UTC)
    for t, group in enumerate(groups):
        members = [
            upsert_member(
                session,
                PersonInfo(_person_id(t, i), f"Người {i}", f"Đội {t + 1}", None, "vi"),
                joined,
            )
            for i in range(MEMBERS_PER_TEAM)
        ]
        result = setup_team(
            session,
            chat_id=group.id,
            title=group.title or str(group.id),
            leader=members[0],
            defaults=defaults,
            today=joined.date(),
        )
        team = session.get(Team, result.team_id)
        assert team is not None
        for member in members[1:]:
            join_team(session, team, member, joined.date())
        # All but the last member logged today, so the summary names who did not.
        for i, member in enumerate(members[:-1]):
            record_checkin(
                session,
                team_id=team.id,
                member_id=member.id,
                actor_id=member.id,
                source="import",
                day=DAY,
                entries=[EntryInput("calls", 12 + 3 * i), EntryInput("meetings", 1 + i % 2)],
                now=logged_at,
            )


def build_database(path: Path, groups: Sequence[SChat]) -> None:
    """Create a migrated SQLite file holding one team per group."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
        with Session(engine) as session, session.begin():
            add_teams(session, groups)
    finally:
        engine.dispose()


async def fan_out(
    database: Path,
    teams: int,
    *,
    scheduler: type[Scheduler] = Scheduler,
    round_trip: float = 0.0,
) -> Fanout:
    """Run one day's summaries for the teams in `database` through a fresh enforcing sandbox."""
    limits = FloodLimits()
    sandbox = Sandbox(clock=time.time, limits=limits, enforce_limits=True)
    groups = add_groups(sandbox, teams)
    settings = Settings(database_url=f"sqlite:///{database}")
    app = build_application(
        settings,
        # `latency` holds each call back before the sandbox sees it, as a network would.
        request=SandboxRequest(sandbox, latency=round_trip),
        rate_limit=True,
        token=sandbox.token,
        clock=lambda: NOW,
    )
    try:
        async with app:
            started = time.perf_counter()
            report = await scheduler(app).run_due(NOW)
            seconds = time.perf_counter() - started
    finally:
        app.bot_data.close()
    per_chat = Counter(m.chat_id for m in sandbox.sent())
    return Fanout(
        teams=teams,
        messages=sum(per_chat.values()),
        seconds=seconds,
        floor=floor_seconds(per_chat, limits),
        flood_answers=sandbox.flood_answers,
        exactly_once=sum(1 for g in groups if per_chat[g.id] == 1),
        reported_sent=report.sent,
    )


def run(quick: bool) -> list[str]:
    """Run P4 and return its figure lines."""
    teams = QUICK_TEAMS if quick else FULL_TEAMS
    workdir = Path(tempfile.mkdtemp(prefix="kpibot-p4-"))
    try:
        template = workdir / "template.db"
        build_database(template, add_groups(Sandbox(), teams))

        def fresh(name: str) -> Path:
            # Each run claims every post: it needs a database in which nothing was sent yet.
            path = workdir / f"{name}.db"
            shutil.copy(template, path)
            return path

        main = asyncio.run(fan_out(fresh("main"), teams))
        lines = _lines(main)
        if not quick:
            slow = asyncio.run(fan_out(fresh("rtt"), teams, round_trip=ROUND_TRIP))
            lines.append(
                Note(
                    "P4",
                    f"same with {ROUND_TRIP * 1000:.0f} ms round trips",
                    _brief(slow),
                ).line()
            )
        return lines
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _lines(f: Fanout) -> list[str]:
    figure = Figure(
        "P4",
        f"digest fan-out, {f.teams} teams ({f.messages} messages)",
        f.seconds * 1000,
        f.floor * 1000,
        "floor set by the limits",
        "ms",
        GOAL,
    )
    floods_ok = "ok" if f.flood_answers == 0 else "MISSED"
    delivered_ok = "ok" if f.exactly_once == f.teams == f.reported_sent else "MISSED"
    return [
        figure.line(),
        f"P4 flood-control answers: {f.flood_answers} (goal 0) {floods_ok}",
        f"P4 summaries delivered exactly once: {f.exactly_once}/{f.teams} groups "
        f"(run_due reported {f.reported_sent}; goal all) {delivered_ok}",
    ]


def _brief(f: Fanout) -> str:
    return f"{f.seconds:.1f} s = {f.ratio:.2f}x floor, {f.flood_answers} flood answers"


def main(argv: Sequence[str] | None = None) -> int:
    """Run P4 alone and print its lines."""
    parser = argparse.ArgumentParser(prog="python -m bench.p4_fanout", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TEAMS} teams, not 500")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for line in run(args.quick):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
