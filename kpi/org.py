"""The org-wide ranking: every member of every active team, ranked by overall score.

Built for scale (QUALITY.md P2): a fixed number of queries however many teams and people there
are. One SQL ``GROUP BY`` over (team, member, metric) sums the span; targets, KPI definitions,
calendars and people are each loaded in one query for all active teams. Scores come from the
same pieces a team's leaderboard uses (`kpi.reports.kpi_value`, `kpi.targets.TargetBook`,
`kpi.scoring.attainment`, `overall_score` and `rank`), so a member's org score and place in
their team equal those on `kpi.reports.team_board` (tests/test_bench.py holds them equal).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from kpi import scoring, store
from kpi.metrics import DEALS
from kpi.models import (
    ENTRY_ACTIVE,
    MEMBERSHIP_ACTIVE,
    ROLE_LEADER,
    Activity,
    CalendarDay,
    KpiDefinition,
    Member,
    Membership,
    Target,
    Team,
    display_name,
)
from kpi.periods import Span, WorkCalendar, membership_share, prorate
from kpi.reports import KpiDef, additive, kpi_value, scored_kpis, totals_of
from kpi.targets import TargetBook, TargetRow, calendar_from, in_force
from kpi.teams import settings_of

__all__ = ["OrgRow", "org_ranking", "org_sums_statement"]


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


@dataclass(frozen=True)
class _Person:
    team_id: int
    member_id: int
    name: str
    leader: bool
    joined_on: dt.date
    left_on: dt.date | None


# A metric's (count, amount, new-customer amount) for one member, as the GROUP BY returns it.
RawSum = tuple[int, int, int]
TeamSums = dict[int, dict[str, RawSum]]


def org_sums_statement(start: dt.date, end: dt.date) -> Select[int, int, str, int, int, int]:
    """Return the one GROUP BY that sums every active team's counted entries per member."""
    active_teams = select(Team.id).where(Team.active.is_(True))
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
            Activity.team_id.in_(active_teams),
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
    sums = _sums(session, span)
    calendars = _calendars(session, teams)
    targets = _targets(session, span.end)
    kpis = _kpis(session, span.end)
    people = _people(session)

    entries: list[tuple[_Person, float | None, bool, int | None]] = []
    for team in teams:
        team_sums = sums.get(team.id, {})
        # Leaders take part only when they sell too, as on the team's own leaderboard.
        members = [p for p in people.get(team.id, []) if not p.leader or p.member_id in team_sums]
        book = TargetBook(targets.get(team.id, []), calendars[team.id])
        scores = _team_scores(
            kpis.get(team.id, []),
            members,
            team_sums,
            book,
            span,
            settings_of(team).attainment_cap,
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


def _team_scores(
    all_kpis: Sequence[KpiDef],
    members: Sequence[_Person],
    sums: Mapping[int, Mapping[str, RawSum]],
    book: TargetBook,
    span: Span,
    cap: float,
) -> dict[int, float | None]:
    """Score a team's members the way `kpi.reports.team_board` does."""
    ids = [p.member_id for p in members]
    scored = scored_kpis(all_kpis, book, ids)
    # Most members share the default target: prorate each target row once, not per member.
    prorated: dict[int, float] = {}

    def target_for(k: KpiDef, member_id: int, share: float) -> float | None:
        row = book.row(k.key, member_id)
        if row is None:
            return None
        if not additive(k):
            # Rates and averages are levels: not prorated, as on team boards.
            return row.value
        if row.id not in prorated:
            period: Any = row.period
            prorated[row.id] = prorate(row.value, period, span, book.cal)
        return prorated[row.id] * share

    # The overall score as `kpi.reports.evaluate` computes it, without the pace and growth of
    # each line, which a ranking does not show (and which would double the cost).
    out: dict[int, float | None] = {}
    for person in members:
        member_id = person.member_id
        share = membership_share(book.cal, span, person.joined_on, person.left_on)
        member_sums = sums.get(member_id, {})
        parts = []
        for k in scored:
            att = scoring.attainment(
                _actual(k, member_sums),
                target_for(k, member_id, share),
                k.direction,  # type: ignore[arg-type]
                cap=cap,
                minimum=k.minimum,
            )
            parts.append((att.capped, k.weight))
        out[member_id] = scoring.overall_score(parts)
    return out


# Totals fields that are not the metric of the same name: "metric:revenue" would mean them.
_NOT_METRICS = frozenset({"revenue", "new_revenue"})
_ZERO: RawSum = (0, 0, 0)


def _actual(kpi: KpiDef, sums: Mapping[str, RawSum]) -> float | None:
    """Return one member's value of a KPI, as `kpi.reports.kpi_value` computes it.

    A metric's count and the revenue (what most KPIs are) come straight from the sums: building
    the member's `Totals` costs more than the rest of their score. Other formulas go through
    `kpi_value`.
    """
    source = kpi.source
    if source.startswith("metric:") and source[7:] not in _NOT_METRICS:
        return float(sums.get(source[7:], _ZERO)[0])
    if source == "revenue":
        return float(sums.get(DEALS, _ZERO)[1])
    return kpi_value(kpi, totals_of({m: store.MetricSum(*s) for m, s in sums.items()}))


def _sums(session: Session, span: Span) -> dict[int, TeamSums]:
    out: dict[int, TeamSums] = {}
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
    """Build every team's calendar as `kpi.targets.calendar_of` does, in one query."""
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


def _kpis(session: Session, day: dt.date) -> dict[int, list[KpiDef]]:
    """Load every active team's KPIs in force on `day`, as `kpi.reports.kpi_defs` does."""
    out: dict[int, list[KpiDef]] = defaultdict(list)
    k = KpiDefinition
    rows = session.execute(
        select(
            k.team_id,
            k.valid_until,
            k.key,
            k.name_vi,
            k.name_en,
            k.unit,
            k.source,
            k.direction,
            k.period,
            k.weight,
            k.minimum,
        )
        .join(Team, Team.id == k.team_id)
        .where(Team.active.is_(True), k.retired_at.is_(None))
        .order_by(k.team_id, k.sort_order, k.id)
    )
    for team_id, valid_until, *fields in rows:
        if valid_until is None or valid_until >= day:
            out[team_id].append(KpiDef(*fields))
    return out


def _people(session: Session) -> dict[int, list[_Person]]:
    """Load every active team's ranked members, by name (as `kpi.reports.ranked_people`)."""
    out: dict[int, list[_Person]] = defaultdict(list)
    # Plain columns, not Member objects: building thousands of ORM objects costs more than
    # the query itself.
    rows = session.execute(
        select(
            Membership.team_id,
            Membership.role,
            Member.id,
            Member.first_name,
            Member.last_name,
            Member.username,
            Membership.joined_on,
            Membership.left_on,
        )
        .join(Member, Member.id == Membership.member_id)
        .join(Team, Team.id == Membership.team_id)
        .where(
            Team.active.is_(True),
            Membership.status == MEMBERSHIP_ACTIVE,
            Membership.ranked.is_(True),
        )
    )
    for team_id, role, member_id, first, last, username, joined, left in rows:
        name = display_name(member_id, first, last, username)
        out[team_id].append(_Person(team_id, member_id, name, role == ROLE_LEADER, joined, left))
    for members in out.values():
        members.sort(key=lambda p: (p.name.casefold(), p.member_id))
    return out
