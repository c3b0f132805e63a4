"""The teams' post schedules, as `bot.scheduler.due_posts` reads them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from kpi.calendar import WorkCalendar, calendar_of
from kpi.models import CalendarDay, Team
from kpi.posts.registry import SCHEDULED
from kpi.teams import settings_of


@dataclass(frozen=True)
class TeamSchedule:
    """What `due_posts` needs of one team: its calendar, post times and grace window."""

    team_id: int
    calendar: WorkCalendar
    times: dict[str, str | None]
    grace: dt.timedelta
    fingerprint: str = ""


def schedules(session: Session, team_ids: Sequence[int] | None = None) -> list[TeamSchedule]:
    """Return the active teams' schedules (all, or the given teams')."""
    stmt = select(Team).where(Team.active.is_(True)).order_by(Team.id)
    if team_ids is not None:
        stmt = stmt.where(Team.id.in_(list(team_ids)))
    out = []
    for team in session.scalars(stmt):
        s = settings_of(team)
        cal = calendar_of(session, team)
        times = {k: s.schedule.get(k) for k in (p.key for p in SCHEDULED)}
        fingerprint = repr((cal, sorted(times.items()), s.grace_minutes))
        out.append(
            TeamSchedule(team.id, cal, times, dt.timedelta(minutes=s.grace_minutes), fingerprint)
        )
    return out


def revision(session: Session) -> str:
    """Return a cheap fingerprint of everything the schedules are built from (the teams' rows
    and their declared days): when it changes, an instance rebuilds its jobs."""
    teams = session.execute(select(func.count(), func.max(Team.updated_at))).one()
    days = session.execute(
        select(
            func.count(), func.max(CalendarDay.id), func.sum(cast(CalendarDay.working, Integer))
        )
    ).one()
    return repr((tuple(teams), tuple(days)))
