"""The org-wide ranking: every member of every active team, scored through `kpi.standings`.

It loads every active team in a fixed number of queries however many teams and people there
are (QUALITY.md P2: one GROUP BY for the sums, one query each for people, calendars, targets
and KPIs) and feeds each team to `standings.member_scores`, the one scoring path, so a member's
org score and place in their team are the team board's. The admins' `/org` view is its user.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from kpi import scoring
from kpi.calendar import WorkCalendar, calendar_from
from kpi.models import ENTRY_ACTIVE, Activity, CalendarDay, Membership, Target, Team
from kpi.periods import Span
from kpi.standings import (
    Person,
    SumRow,
    active_team_ids,
    member_scores,
    people_where,
    scored_kpis,
    taking_part,
)
from kpi.targets import TargetBook, TargetRow, active_teams_kpi_defs, in_force
from kpi.teams import settings_of


@dataclass(frozen=True)
class OrgRow:
    """One member of one team in the org-wide ranking.

    ``rank`` is the place across the organisation and ``team_rank`` the place inside the team
    (standard competition ranking, ties share a place); both are None for a member who logged
    nothing in the span or has no scored KPI, listed after the ranked ones.
    """

    team_id: int
    team_title: str
    member_id: int
    name: str
    score: float | None
    rank: int | None
    team_rank: int | None
    active: bool  # logged anything in the span


def org_sums_statement(start: dt.date, end: dt.date) -> Select[int, int, str, int, int, int]:
    """Return the one GROUP BY that sums every active team's counted entries per member."""
    new_amount = case((Activity.is_new_customer.is_(True), Activity.amount), else_=0)
    # Naming the teams (IN a subquery) lets SQLite seek the (team, status, day) index once per
    # team instead of scanning every row of every day.
    return (
        select(
            Activity.team_id,
            Activity.member_id,
            Activity.metric,
            func.sum(Activity.value),
            func.coalesce(func.sum(Activity.amount), 0),
            func.coalesce(func.sum(new_amount), 0),
        )
        .where(
            Activity.team_id.in_(active_team_ids()),
            Activity.status == ENTRY_ACTIVE,
            Activity.day >= start,
            Activity.day <= end,
        )
        .group_by(Activity.team_id, Activity.member_id, Activity.metric)
    )


def org_ranking(session: Session, span: Span) -> list[OrgRow]:
    """Rank every member of every active team by overall score over the span."""
    teams = list(session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.id)))
    if not teams:
        return []
    sums = _org_sums(session, span)
    calendars = _calendars(session, teams)
    targets = _targets(session, span.end)
    kpis = active_teams_kpi_defs(session, span.end)
    people = people_where(session, Membership.team_id.in_(active_team_ids()))

    entries: list[tuple[Person, float | None, bool, int | None]] = []
    for team in teams:
        team_sums = sums.get(team.id, {})
        members = taking_part(people.get(team.id, []), team_sums)
        book = TargetBook(targets.get(team.id, []), calendars[team.id])
        scored = scored_kpis(kpis.get(team.id, []), book, [p.member_id for p in members])
        scores = member_scores(
            scored, members, team_sums, book, span, settings_of(team).attainment_cap
        )
        team_ranked = scoring.rank(
            [(p.member_id, scores[p.member_id], p.member_id in team_sums) for p in members]
        )
        places = {r.key: r.rank for r in team_ranked}
        for p in members:
            entries.append((p, scores[p.member_id], p.member_id in team_sums, places[p.member_id]))

    # Ties keep the order of names, as team leaderboards do.
    entries.sort(key=lambda e: (e[0].name.casefold(), e[0].member_id, e[0].team_id))
    ranked = scoring.rank(
        [((p.team_id, p.member_id), score, active) for p, score, active, _ in entries]
    )
    by_key = {(p.team_id, p.member_id): (p, place) for p, _, _, place in entries}
    titles = {t.id: t.title for t in teams}
    out: list[OrgRow] = []
    for r in ranked:
        person, team_place = by_key[r.key]
        out.append(
            OrgRow(
                team_id=person.team_id,
                team_title=titles[person.team_id],
                member_id=person.member_id,
                name=person.name,
                score=r.value,
                rank=r.rank,
                team_rank=team_place,
                active=r.active,
            )
        )
    return out


def _org_sums(session: Session, span: Span) -> dict[int, dict[int, dict[str, SumRow]]]:
    """Sum every active team's counted entries per member and metric, by team."""
    out: dict[int, dict[int, dict[str, SumRow]]] = {}
    for team_id, member_id, metric, value, amount, new_amount in session.execute(
        org_sums_statement(span.start, span.end)
    ):
        team = out.get(team_id)
        if team is None:
            team = out[team_id] = {}
        member = team.get(member_id)
        if member is None:
            member = team[member_id] = {}
        # int(): PostgreSQL sums bigints as numeric.
        member[metric] = (int(value), int(amount), int(new_amount))
    return out


def _calendars(session: Session, teams: Sequence[Team]) -> dict[int, WorkCalendar]:
    """Build every team's calendar as `kpi.calendar.calendar_of` does, in one query."""
    declared: dict[int, list[tuple[dt.date, bool]]] = defaultdict(list)
    rows = session.execute(
        select(CalendarDay.team_id, CalendarDay.day, CalendarDay.working)
        .join(Team, Team.id == CalendarDay.team_id)
        .where(Team.active.is_(True))
    )
    for team_id, day, working in rows:
        declared[team_id].append((day, working))
    return {team.id: calendar_from(team, declared[team.id]) for team in teams}


def _targets(session: Session, as_of: dt.date) -> dict[int, list[TargetRow]]:
    """Load every active team's targets in force at the end of the span (as team boards do)."""
    history: dict[int, list[Target]] = defaultdict(list)
    rows = session.scalars(
        select(Target)
        .join(Team, Team.id == Target.team_id)
        .where(Team.active.is_(True))
        .order_by(Target.set_at, Target.id)
    )
    for r in rows:
        history[r.team_id].append(r)
    return {team_id: in_force(rs, as_of) for team_id, rs in history.items()}
