"""Standings: members scored against their targets over a span, for one team or the whole org.

One path scores members from their inputs (`member_scores`): the KPIs scored, the people taking
part (`taking_part`), their SQL sums, the targets in force and the team's cap. A team's board
(`team_board`) loads one team and feeds it; the org-wide ranking (`kpi.org_ranking`) loads
every active team in bulk and feeds it each team in turn, so a member's org score and place in
their team are the board's. One member's KPIs, each over the period its target is set for
(`member_lines`), are what /me and the reminders show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from kpi import absences, catalog, periods, scoring, store
from kpi.calendar import WorkCalendar, calendar_of
from kpi.catalog import DEALS
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    ROLE_LEADER,
    Absence,
    Member,
    Membership,
    Team,
    display_name,
)
from kpi.names import Names
from kpi.periods import Span
from kpi.scoring import KpiDef, PreviousTotals, additive, kpi_value
from kpi.store import MetricSum
from kpi.targets import (
    TargetBook,
    kpi_defs,
    target_book,
)
from kpi.teams import settings_of

# --- the inputs: people, sums -------------------------------------------------------------------


def active_team_ids() -> Select[int]:
    return select(Team.id).where(Team.active.is_(True))


@dataclass(frozen=True)
class Person:
    """A ranked member of a team, with the days they belong to it and their role."""

    team_id: int
    member_id: int
    name: str
    joined_on: dt.date
    left_on: dt.date | None
    leader: bool = False
    away: tuple[tuple[dt.date, dt.date], ...] = ()  # approved leave (kpi.absences)

    def share(self, cal: WorkCalendar, span: Span) -> float:
        """Return the part of the span the person is held to: here, and not on leave."""
        return periods.membership_share(cal, span, self.joined_on, self.left_on, self.away)


def people_where(session: Session, teams: ColumnElement[bool]) -> dict[int, list[Person]]:
    """Load the teams' active ranked members, each team's by name, with their approved leave."""
    out: dict[int, list[Person]] = defaultdict(list)
    # Plain columns, not Member objects: building thousands of ORM objects costs more than
    # the query itself. Leave comes in the same query (one row per absence; most have none).
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
            Absence.first_day,
            Absence.last_day,
        )
        .join(Member, Member.id == Membership.member_id)
        .outerjoin(Absence, absences.approved_of(Membership.team_id, Membership.member_id))
        .where(teams, Membership.status == MEMBERSHIP_ACTIVE, Membership.ranked.is_(True))
        .order_by(Absence.first_day)
    )
    found: dict[tuple[int, int], Person] = {}
    away: dict[tuple[int, int], list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for team_id, role, member_id, first, last, username, joined, left, a, b in rows:
        key = (team_id, member_id)
        if key not in found:
            name = display_name(member_id, first, last, username)
            found[key] = Person(team_id, member_id, name, joined, left, role == ROLE_LEADER)
        if a is not None and b is not None:
            away[key].append((a, b))
    for key, p in found.items():
        out[p.team_id].append(dataclasses.replace(p, away=tuple(away[key])) if key in away else p)
    for people in out.values():
        people.sort(key=lambda p: (p.name.casefold(), p.member_id))
    return out


def ranked_people(session: Session, team_id: int) -> list[Person]:
    """Return the team's active ranked members, by name."""
    return people_where(session, Membership.team_id == team_id).get(team_id, [])


def taking_part(people: Iterable[Person], logged: Container[int]) -> list[Person]:
    """Return the people a standing counts: every rep, and a leader who logged something."""
    # Leaders take part (in the ranking and the team target) only when they sell too.
    return [p for p in people if not p.leader or p.member_id in logged]


# A metric's (count, amount, new-customer amount) over a span: a `store.MetricSum`, or the plain
# tuple the org-wide ranking reads (thousands of them: a tuple costs a tenth of an object).
SumRow = tuple[int, int, int]


# The catalogue's metrics that scoring's formulas read by name (`Totals.calls`); any other
# metric, built in or a team's own, is summed in `Totals.extra`.
TOTALS_METRICS = frozenset(
    f.name for f in dataclasses.fields(scoring.Totals) if f.name in catalog.METRIC_KEYS
)


def totals_of(sums: Mapping[str, MetricSum]) -> scoring.Totals:
    """Turn per-metric SQL sums into scoring totals."""
    deals = sums.get(DEALS, MetricSum())
    return scoring.Totals(
        **{k: sums[k].value for k in TOTALS_METRICS if k in sums},
        revenue=deals.amount,
        new_revenue=deals.new_amount,
        extra={k: v.value for k, v in sums.items() if k not in TOTALS_METRICS},
    )


def sum_all(sums: Mapping[int, Mapping[str, MetricSum]], ids: Sequence[int]) -> store.Sums:
    """Add up the per-metric sums of the members in `ids`."""
    out: store.Sums = {}
    for member_id, by_metric in sums.items():
        if member_id not in ids:
            continue
        for metric, s in by_metric.items():
            o = out.get(metric, MetricSum())
            out[metric] = MetricSum(
                o.value + s.value, o.amount + s.amount, o.new_amount + s.new_amount
            )
    return out


def baseline_sums(
    session: Session,
    team_id: int,
    base: periods.Baseline,
    member_ids: Sequence[int] | None = None,
) -> tuple[dict[int, store.Sums], dict[int, store.Sums] | None]:
    """Sum each member's entries over a baseline's whole days, and over those plus its part day."""
    whole = (
        store.member_sums(session, team_id, base.previous.start, base.whole_through, member_ids)
        if base.whole_through is not None
        else {}
    )
    if base.partial_day is None:
        return whole, None
    part = store.member_sums(session, team_id, base.partial_day, base.partial_day, member_ids)
    both = {
        m: sum_all({0: whole.get(m, {}), 1: part.get(m, {})}, [0, 1])
        for m in set(whole) | set(part)
    }
    return whole, both


# --- the one scoring path ----------------------------------------------------------------------


def scored_kpis(
    all_kpis: Sequence[KpiDef], book: TargetBook, member_ids: Sequence[int]
) -> list[KpiDef]:
    """Return the KPIs the overall score is made of: a weight, and a target for someone."""
    scored = [k for k in all_kpis if k.weight > 0 and book.row(k.key, None) is not None]
    # Members may have overrides for KPIs without a default target: include those too.
    keys = {k.key for k in scored}
    scored += [
        k
        for k in all_kpis
        if k.weight > 0 and k.key not in keys and any(book.row(k.key, i) for i in member_ids)
    ]
    return scored


def member_scores(
    kpis: Sequence[KpiDef],
    people: Sequence[Person],
    sums: Mapping[int, Mapping[str, SumRow]],
    book: TargetBook,
    span: Span,
    cap: float,
) -> dict[int, float | None]:
    """Score each person over the span on the scored KPIs, by member id."""
    # Most members share the default target: prorate each target row once, not per member.
    prorated: dict[int, float] = {}

    def target_for(k: KpiDef, member_id: int, share: float) -> float | None:
        row = book.row(k.key, member_id)
        if row is None:
            return None
        if not additive(k):
            # A rate or an average is a level, not an amount: not prorated, not shared.
            return row.value
        if row.id not in prorated:
            period: Any = row.period
            prorated[row.id] = periods.prorate(row.value, period, span, book.cal)
        return prorated[row.id] * share

    # The score as `scoring.evaluate` computes it, without the pace and growth of each line,
    # which a standing does not show (and which would double the cost).
    out: dict[int, float | None] = {}
    for p in people:
        # Someone who joined mid-period is held to the part of the period they were here for.
        share = p.share(book.cal, span)
        own = sums.get(p.member_id, {})
        parts = []
        for k in kpis:
            target = target_for(k, p.member_id, share)
            parts.append(
                (scoring.kpi_attainment(k, _actual(k, own), target, cap).capped, k.weight)
            )
        out[p.member_id] = scoring.overall_score(parts)
    return out


# Totals fields that are not the metric of the same name: "metric:revenue" would mean them.
_NOT_METRICS = frozenset({"revenue", "new_revenue"})
_ZERO = MetricSum()


def _actual(kpi: KpiDef, sums: Mapping[str, SumRow]) -> float | None:
    """Return one member's value of a KPI, as `scoring.kpi_value` computes it from their totals.

    A metric's count and the revenue (what most KPIs are) come straight from the sums: building
    the member's `Totals` costs more than the rest of their score.
    """
    source = kpi.source
    if source.startswith("metric:") and source[7:] not in _NOT_METRICS:
        return float(sums.get(source[7:], _ZERO)[0])
    if source == "revenue":
        return float(sums.get(DEALS, _ZERO)[1])
    return kpi_value(kpi, totals_of({m: MetricSum(*s) for m, s in sums.items()}))


# --- a team's board ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    """One ranked member of a team over a span."""

    member_id: int
    name: str
    value: float | None  # the ranking value: overall score, or one KPI's raw value
    attainment: float | None  # beside a raw KPI value: its attainment against the target
    score: float | None
    rank: int | None
    movement: int | None
    active: bool  # logged anything in the span
    target: float | None = None


@dataclass(frozen=True)
class TeamKpi:
    """A team KPI over a span: total, team target (prorated sum), attainment, growth."""

    key: str
    unit: str
    actual: float | None
    target: float | None
    attainment: float | None
    previous: float | None
    growth: float | None
    direction: str = "higher"


@dataclass(frozen=True)
class Board:
    """A team's standing over one span: ranking, team KPIs, derived figures."""

    team_id: int
    team_title: str
    language: str
    span: Span
    share: float
    kpi: str | None  # None: ranked by overall score
    kpi_unit: str
    rows: tuple[MemberRow, ...]
    team: tuple[TeamKpi, ...]
    names: Mapping[str, Names]
    reps_on_target: tuple[int, int]
    revenue_per_rep: float | None
    win_rate: float | None
    average_deal_value: float | None
    not_logged: tuple[str, ...]  # active members with nothing logged in the span
    group_sees: str
    top_n: int
    same_point: bool = False  # team growth is against the same point of the previous period


def team_board(
    session: Session,
    team: Team,
    span: Span,
    now: dt.datetime,
    *,
    kpi: str | None = None,
    cal: WorkCalendar | None = None,
) -> Board:
    """Rank the team over a span (overall score, or one KPI's raw value) with team figures."""
    cal = cal or calendar_of(session, team)
    prev = periods.previous(span, cal)
    # Each period is judged against the targets that were in force then.
    book = target_book(session, team, cal, as_of=span.end)
    prev_book = target_book(session, team, cal, as_of=prev.end)
    cur = store.member_sums(session, team.id, span.start, span.end)
    old = store.member_sums(session, team.id, prev.start, prev.end)
    people = taking_part(ranked_people(session, team.id), cur)
    ids = [p.member_id for p in people]
    all_kpis = kpi_defs(session, team.id, span.end)
    scored = scored_kpis(all_kpis, book, ids)
    settings = settings_of(team)
    cap = settings.attainment_cap
    now_scores = member_scores(scored, people, cur, book, span, cap)
    kdef = next((k for k in all_kpis if k.key == kpi), None) if kpi else None

    def value_of(
        scores: Mapping[int, float | None],
        sums: Mapping[int, Mapping[str, MetricSum]],
        member_id: int,
        view: Span,
    ) -> tuple[float | None, float | None]:
        if kdef is None:
            return scores[member_id], None
        actual = kpi_value(kdef, totals_of(sums.get(member_id, {})))
        target = book.for_span(kdef.key, member_id, view, prorated=additive(kdef))
        return actual, scoring.kpi_attainment(kdef, actual, target, cap).raw

    higher = kdef is None or kdef.direction == "higher"
    # Last period's scores place people for the movement arrows; a KPI's ranking needs none.
    old_scores = member_scores(scored, people, old, prev_book, prev, cap) if kdef is None else {}
    previous_ranked = scoring.rank(
        [
            (p.member_id, value_of(old_scores, old, p.member_id, prev)[0], p.member_id in old)
            for p in people
        ],
        higher_is_better=higher,
    )
    prev_ranks = {r.key: r.rank for r in previous_ranked if r.rank is not None}
    entries = []
    values: dict[int, tuple[float | None, float | None]] = {}
    for p in people:
        values[p.member_id] = value_of(now_scores, cur, p.member_id, span)
        entries.append((p.member_id, values[p.member_id][0], p.member_id in cur))
    ranked = scoring.rank(entries, higher_is_better=higher, previous=prev_ranks)
    by_id = {p.member_id: p for p in people}
    rows = tuple(
        MemberRow(
            r.key,
            by_id[r.key].name,
            r.value,
            values[r.key][1],
            now_scores[r.key],
            r.rank,
            r.movement,
            r.active,
            book.for_span(kdef.key, r.key, span, prorated=additive(kdef)) if kdef else None,
        )
        for r in ranked
    )
    # Growth compares like with like: a period in progress with the same point of the last one.
    base = periods.baseline(cal, span, now)
    if base.same_point:
        whole, with_partial = baseline_sums(session, team.id, base)
        previous = _team_previous(whole, with_partial, base.fraction)
    else:
        previous = _team_previous(old, None, 0.0)
    team_kpis = _team_kpis(all_kpis, people, cur, previous, book, span, cal)
    # Team totals count every entry of the team, also of people who left or are not ranked.
    totals = totals_of(sum_all(cur, list(cur)))
    met = scoring.reps_on_target([None if s is None else s / 100 for s in now_scores.values()])
    derived = scoring.derived(totals)
    return Board(
        team_id=team.id,
        team_title=team.title,
        language=team.language,
        span=span,
        share=periods.elapsed_share(cal, span, now),
        kpi=kdef.key if kdef else None,
        kpi_unit=kdef.unit if kdef else "score",
        rows=rows,
        team=tuple(team_kpis),
        names={k.key: k.names for k in all_kpis},
        reps_on_target=met,
        revenue_per_rep=scoring.revenue_per_rep(totals.revenue, len(people)),
        win_rate=derived["win_rate"],
        average_deal_value=derived["average_deal_value"],
        # Someone on leave (or not yet here) for the whole span is not missing anything.
        not_logged=tuple(
            p.name for p in people if p.member_id not in cur and p.share(cal, span) > 0
        ),
        group_sees=settings.group_sees,
        top_n=settings.top_n,
        same_point=base.same_point,
    )


def _team_previous(
    whole: Mapping[int, store.Sums], with_partial: Mapping[int, store.Sums] | None, fraction: float
) -> PreviousTotals:
    return PreviousTotals(
        totals_of(sum_all(whole, list(whole))),
        totals_of(sum_all(with_partial, list(with_partial))) if with_partial is not None else None,
        fraction,
    )


def _team_kpis(
    kpis: Sequence[KpiDef],
    people: Sequence[Person],
    cur: Mapping[int, Mapping[str, MetricSum]],
    baseline: PreviousTotals,
    book: TargetBook,
    span: Span,
    cal: WorkCalendar,
) -> list[TeamKpi]:
    now_totals = totals_of(sum_all(cur, list(cur)))
    out = []
    for k in kpis:
        actual = kpi_value(k, now_totals)
        previous = baseline.value(k)
        target: float | None = None
        # Rates and averages do not add up over members: only amounts get a team target.
        if additive(k):
            parts = []
            for p in people:
                t = book.for_span(k.key, p.member_id, span)
                if t is not None:
                    share = p.share(cal, span)
                    parts.append(t * share)
            target = sum(parts) if parts else None
        att = (
            scoring.attainment(actual, target, k.direction).raw  # type: ignore[arg-type]
            if target
            else None
        )
        if actual is None and target is None:
            continue
        out.append(
            TeamKpi(
                k.key,
                k.unit,
                actual,
                target,
                att,
                previous,
                scoring.growth(actual, previous),
                k.direction,
            )
        )
    return out


# --- one member's KPIs, each over its target's period ----------------------------------------


@dataclass(frozen=True)
class MeLine:
    """One KPI of the member, with the span it is measured over."""

    line: scoring.KpiLine
    span: Span
    share: float
    same_point: bool = False  # growth is against the same point of the previous period


def _member_targets(
    book: TargetBook, kpis: Sequence[KpiDef], member_id: int, span: Span
) -> dict[str, float | None]:
    return {k.key: book.for_span(k.key, member_id, span, prorated=additive(k)) for k in kpis}


def member_lines(
    session: Session,
    team: Team,
    cal: WorkCalendar,
    member_id: int,
    today: dt.date,
    now: dt.datetime,
    period: periods.Period | None,
) -> tuple[list[MeLine], float | None]:
    """Evaluate a member's KPIs that have a target or a weight.

    With `period`, every KPI is measured over that period (targets prorated); without, each
    over the period its target is set for (calls today, revenue this month).
    """
    book = target_book(session, team, cal)
    kpis = [
        k
        for k in kpi_defs(session, team.id, today)
        if book.row(k.key, member_id) is not None or k.weight > 0
    ]
    cap = settings_of(team).attainment_cap
    by_period: dict[str, list[KpiDef]] = {}
    for k in kpis:
        row = book.row(k.key, member_id)
        p = period or (row.period if row is not None else k.period)
        by_period.setdefault(p, []).append(k)
    out: dict[str, MeLine] = {}
    for p, group in by_period.items():
        span = periods.span_of(p, today, cal)  # type: ignore[arg-type]
        base = periods.baseline(cal, span, now)
        cur = store.member_sums(session, team.id, span.start, span.end, [member_id])
        whole, with_partial = baseline_sums(session, team.id, base, [member_id])
        share = periods.elapsed_share(cal, span, now)
        previous = PreviousTotals(
            totals_of(whole.get(member_id, {})),
            totals_of(with_partial.get(member_id, {})) if with_partial is not None else None,
            base.fraction,
        )
        lines, _ = scoring.evaluate(
            group,
            totals_of(cur.get(member_id, {})),
            previous,
            _member_targets(book, group, member_id, span),
            share,
            cap,
        )
        for ln in lines:
            out[ln.key] = MeLine(ln, span, share, base.same_point)
    ordered = [out[k.key] for k in kpis]
    score = scoring.overall_score((m.line.attainment.capped, m.line.weight) for m in ordered)
    return ordered, score
