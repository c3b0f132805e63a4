"""Structured report data: a member's KPIs, team summaries, leaderboards.

Sums come from SQL (kpi.store); KPI values, attainment, pace and scores are computed here from
those sums with kpi.scoring and kpi.periods. Handlers only render these dataclasses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import periods, scoring, store
from kpi.access import ChatInfo, resolve
from kpi.checkins import LogResult, check_scope
from kpi.metrics import DEALS, KPI_BY_KEY
from kpi.models import KpiDefinition, Team
from kpi.periods import Span, WorkCalendar
from kpi.targets import TargetBook, calendar_of, target_book
from kpi.teams import PersonInfo, settings_of

if TYPE_CHECKING:
    # kpi.state builds on the boards of this module: a type-only import here.
    from kpi.state import GroupReport


@dataclass(frozen=True)
class KpiDef:
    """A KPI definition as reports need it."""

    key: str
    name_vi: str
    name_en: str
    unit: str
    source: str
    direction: str
    period: str
    weight: float
    minimum: float | None

    def name(self, lang: str) -> str:
        """Return the name in a language."""
        return self.name_en if lang == "en" else self.name_vi


def kpi_defs(session: Session, team_id: int, day: dt.date | None = None) -> list[KpiDef]:
    """Return the team's KPIs in force (not retired, still valid on `day`), in display order."""
    rows = session.scalars(
        select(KpiDefinition)
        .where(KpiDefinition.team_id == team_id, KpiDefinition.retired_at.is_(None))
        .order_by(KpiDefinition.sort_order, KpiDefinition.id)
    )
    return [
        KpiDef(
            r.key,
            r.name_vi,
            r.name_en,
            r.unit,
            r.source,
            r.direction,
            r.period,
            r.weight,
            r.minimum,
        )
        for r in rows
        if day is None or r.valid_until is None or r.valid_until >= day
    ]


def additive(kpi: KpiDef) -> bool:
    """Tell whether a KPI sums over time (counts, revenue), so that its target prorates."""
    return kpi.source.startswith("metric:") or kpi.source == "revenue"


def totals_of(sums: Mapping[str, store.MetricSum]) -> scoring.Totals:
    """Turn per-metric SQL sums into scoring totals."""
    builtin = {"calls", "emails", "meetings", "demos", "leads", "proposals", "deals", "lost"}
    deals = sums.get(DEALS, store.MetricSum())
    return scoring.Totals(
        **{k: sums[k].value for k in builtin if k in sums},
        revenue=deals.amount,
        new_revenue=deals.new_amount,
        extra={k: v.value for k, v in sums.items() if k not in builtin},
    )


def kpi_value(kpi: KpiDef, totals: scoring.Totals) -> float | None:
    """Compute one KPI's actual value from totals (None when its formula is undefined)."""
    if kpi.source.startswith("metric:"):
        metric = kpi.source.removeprefix("metric:")
        value = getattr(totals, metric, None)
        if isinstance(value, int):
            return float(value)
        return float(totals.extra.get(metric, 0))
    derived = scoring.derived(totals)
    value = derived.get(kpi.source)
    return None if value is None else float(value)


@dataclass(frozen=True)
class KpiLine:
    """One KPI of one member (or the team) over one span."""

    key: str
    unit: str
    direction: str
    weight: float
    actual: float | None
    target: float | None
    attainment: scoring.Attainment
    pace: float | None
    previous: float | None
    growth: float | None
    minimum: float | None = None

    @property
    def behind_minimum(self) -> bool:
        """Tell whether the KPI is below its minimum acceptable level, taking pace into account.

        Mid-period the comparison is on pace (where the member should be by now), so a rep
        is not flagged on a Monday morning for a monthly target.
        """
        if self.minimum is None or self.target is None or self.attainment.raw is None:
            return False
        level = self.pace if self.pace is not None else self.attainment.raw
        return level < self.minimum


@dataclass(frozen=True)
class PreviousTotals:
    """What growth compares with: the baseline's whole days, and those plus its partial day."""

    whole: scoring.Totals
    with_partial: scoring.Totals | None = None
    fraction: float = 0.0

    def value(self, kpi: KpiDef) -> float | None:
        """Return the KPI's value at the baseline, a share of the way into its partial day."""
        before = kpi_value(kpi, self.whole)
        if self.with_partial is None:
            return before
        after = kpi_value(kpi, self.with_partial)
        if before is None or after is None:
            # A rate that only becomes defined on the partial day: take the nearer end.
            return after if self.fraction >= 0.5 else before
        return before + self.fraction * (after - before)


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
        m: _sum_all({0: whole.get(m, {}), 1: part.get(m, {})}, [0, 1])
        for m in set(whole) | set(part)
    }
    return whole, both


def _team_previous(
    whole: Mapping[int, store.Sums], with_partial: Mapping[int, store.Sums] | None, fraction: float
) -> PreviousTotals:
    return PreviousTotals(
        totals_of(_sum_all(whole, list(whole))),
        totals_of(_sum_all(with_partial, list(with_partial)))
        if with_partial is not None
        else None,
        fraction,
    )


def evaluate(
    kpis: Sequence[KpiDef],
    totals: scoring.Totals,
    previous: PreviousTotals | None,
    target_of: Mapping[str, float | None],
    share: float,
    cap: float,
) -> tuple[list[KpiLine], float | None]:
    """Evaluate KPIs against targets; return the lines and the weighted overall score."""
    lines: list[KpiLine] = []
    for k in kpis:
        actual = kpi_value(k, totals)
        target = target_of.get(k.key)
        att = scoring.attainment(
            actual,
            target,
            k.direction,  # type: ignore[arg-type]
            cap=cap,
            minimum=k.minimum,
        )
        # Pace ("ahead of or behind where you should be by now") means something for amounts
        # that grow towards a target, not for rates or for lower-is-better counts.
        pace = (
            periods.pace(actual, target, share)
            if actual is not None and target and additive(k) and k.direction == "higher"
            else None
        )
        prev = previous.value(k) if previous is not None else None
        lines.append(
            KpiLine(
                k.key,
                k.unit,
                k.direction,
                k.weight,
                actual,
                target,
                att,
                pace,
                prev,
                scoring.growth(actual, prev),
                k.minimum,
            )
        )
    score = scoring.overall_score((ln.attainment.capped, ln.weight) for ln in lines)
    return lines, score


@dataclass(frozen=True)
class MeLine:
    """One KPI of the member, with the span it is measured over."""

    line: KpiLine
    span: Span
    share: float
    same_point: bool = False  # growth is against the same point of the previous period


@dataclass(frozen=True)
class MeReport:
    """A member's own KPIs: each over its target's period, or all over one asked-for period."""

    outcome: str
    lang_pref: str | None
    refusal: LogResult | None
    team_title: str = ""
    member_name: str = ""
    period: str | None = None
    lines: tuple[MeLine, ...] = ()
    names: Mapping[str, tuple[str, str]] | None = None
    score: float | None = None
    working_day: bool = True
    today: dt.date | None = None


def _member_targets(
    book: TargetBook, kpis: Sequence[KpiDef], member_id: int, span: Span
) -> dict[str, float | None]:
    return {k.key: book.for_span(k.key, member_id, span, prorated=additive(k)) for k in kpis}


def me_report(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    period: periods.Period | None = None,
) -> MeReport:
    """Compute the caller's own KPIs (each over its own target period unless one is asked)."""
    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope)
    if refusal is not None:
        return MeReport("refused", scope.lang_pref, refusal)
    team = scope.team
    assert team is not None
    cal = calendar_of(session, team)
    today = periods.local_today(cal, now)
    lines, score = member_lines(session, team, cal, scope.member.id, today, now, period)
    defs = {k.key: (k.name_vi, k.name_en) for k in kpi_defs(session, team.id)}
    return MeReport(
        "ok",
        scope.lang_pref,
        None,
        team.title,
        scope.member.display_name,
        period,
        tuple(lines),
        defs,
        score,
        periods.is_working_day(cal, today),
        today,
    )


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
        lines, _ = evaluate(
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


# --- team boards: leaderboards and summaries -------------------------------------------------


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
    names: Mapping[str, tuple[str, str]]
    reps_on_target: tuple[int, int]
    revenue_per_rep: float | None
    win_rate: float | None
    average_deal_value: float | None
    not_logged: tuple[str, ...]  # active members with nothing logged in the span
    group_sees: str
    top_n: int
    same_point: bool = False  # team growth is against the same point of the previous period


@dataclass(frozen=True)
class _Person:
    member_id: int
    name: str
    joined_on: dt.date
    left_on: dt.date | None
    leader: bool = False


def ranked_people(session: Session, team_id: int) -> list[_Person]:
    """Return the team's active ranked members, by name."""
    from kpi.models import MEMBERSHIP_ACTIVE, ROLE_LEADER, Member, Membership

    rows = session.execute(
        select(Member, Membership.joined_on, Membership.left_on, Membership.role)
        .join(Membership, Membership.member_id == Member.id)
        .where(
            Membership.team_id == team_id,
            Membership.status == MEMBERSHIP_ACTIVE,
            Membership.ranked.is_(True),
        )
    ).all()
    people = [
        _Person(m.id, m.display_name, joined, left, role == ROLE_LEADER)
        for m, joined, left, role in rows
    ]
    return sorted(people, key=lambda p: (p.name.casefold(), p.member_id))


def _scores(
    kpis: Sequence[KpiDef],
    people: Sequence[_Person],
    sums: Mapping[int, Mapping[str, store.MetricSum]],
    book: TargetBook,
    span: Span,
    cap: float,
) -> dict[int, tuple[float | None, dict[str, KpiLine]]]:
    out: dict[int, tuple[float | None, dict[str, KpiLine]]] = {}
    for p in people:
        targets = _member_targets(book, kpis, p.member_id, span)
        # Someone who joined mid-period is held to the part of the period they were here for.
        share = periods.membership_share(book.cal, span, p.joined_on, p.left_on)
        if share < 1:
            targets = {
                k.key: (t * share if t is not None and additive(k) else t)
                for k, t in ((k, targets[k.key]) for k in kpis)
            }
        lines, score = evaluate(
            kpis,
            totals_of(sums.get(p.member_id, {})),
            None,
            targets,
            1.0,
            cap,
        )
        out[p.member_id] = (score, {ln.key: ln for ln in lines})
    return out


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
    # Leaders take part (in the ranking and the team target) only when they sell too.
    people = [p for p in ranked_people(session, team.id) if not p.leader or p.member_id in cur]
    ids = [p.member_id for p in people]
    all_kpis = kpi_defs(session, team.id, span.end)
    scored = scored_kpis(all_kpis, book, ids)
    settings = settings_of(team)
    cap = settings.attainment_cap
    now_scores = _scores(scored, people, cur, book, span, cap)
    old_scores = _scores(scored, people, old, prev_book, prev, cap)
    kdef = next((k for k in all_kpis if k.key == kpi), None) if kpi else None

    def value_of(
        scores: Mapping[int, tuple[float | None, dict[str, KpiLine]]],
        sums: Mapping[int, Mapping[str, store.MetricSum]],
        member_id: int,
        view: Span,
    ) -> tuple[float | None, float | None]:
        if kdef is None:
            return scores[member_id][0], None
        totals = totals_of(sums.get(member_id, {}))
        actual = kpi_value(kdef, totals)
        target = book.for_span(kdef.key, member_id, view, prorated=additive(kdef))
        att = scoring.attainment(actual, target, kdef.direction, cap=cap)  # type: ignore[arg-type]
        return actual, att.raw

    higher = kdef is None or kdef.direction == "higher"
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
            now_scores[r.key][0],
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
    totals = totals_of(_sum_all(cur, list(cur)))
    met = scoring.reps_on_target(
        [None if s[0] is None else s[0] / 100 for s in now_scores.values()]
    )
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
        names={k.key: (k.name_vi, k.name_en) for k in all_kpis},
        reps_on_target=met,
        revenue_per_rep=scoring.revenue_per_rep(totals.revenue, len(people)),
        win_rate=derived["win_rate"],
        average_deal_value=derived["average_deal_value"],
        not_logged=tuple(p.name for p in people if p.member_id not in cur),
        group_sees=settings.group_sees,
        top_n=settings.top_n,
        same_point=base.same_point,
    )


def _sum_all(
    sums: Mapping[int, Mapping[str, store.MetricSum]], ids: Sequence[int]
) -> dict[str, store.MetricSum]:
    out: dict[str, store.MetricSum] = {}
    for member_id, by_metric in sums.items():
        if member_id not in ids:
            continue
        for metric, s in by_metric.items():
            o = out.get(metric, store.MetricSum())
            out[metric] = store.MetricSum(
                o.value + s.value, o.amount + s.amount, o.new_amount + s.new_amount
            )
    return out


def _team_kpis(
    kpis: Sequence[KpiDef],
    people: Sequence[_Person],
    cur: Mapping[int, Mapping[str, store.MetricSum]],
    baseline: PreviousTotals,
    book: TargetBook,
    span: Span,
    cal: WorkCalendar,
) -> list[TeamKpi]:
    now_totals = totals_of(_sum_all(cur, list(cur)))
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
                    share = periods.membership_share(cal, span, p.joined_on, p.left_on)
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


@dataclass(frozen=True)
class BoardResult:
    """A board for a command, or why there is none."""

    outcome: str
    lang_pref: str | None
    refusal: LogResult | None = None
    board: Board | None = None
    me: int | None = None  # the caller's member id (for the private rank and gap)
    is_group: bool = False
    unknown_kpi: str | None = None
    leader: bool = False
    # Asked in a group: the answer's key there, and the same report's post a moment ago.
    in_group: GroupReport | None = None


def board_for(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    period: periods.Period = "week",
    kpi_word: str | None = None,
    asked_as: str = "leaderboard",
) -> BoardResult:
    """Compute the caller's team board for the period containing today.

    `asked_as` names the command family (`leaderboard`, `summary`): with the period and the
    KPI it tells a repeated report in a group from a new one.
    """
    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope, managing=True)
    if refusal is not None:
        return BoardResult("refused", scope.lang_pref, refusal)
    team = scope.team
    assert team is not None
    kpi = None
    if kpi_word and not is_score_word(kpi_word):
        kpi = find_kpi(session, team.id, kpi_word)
        if kpi is None:
            return BoardResult("unknown_kpi", scope.lang_pref, unknown_kpi=kpi_word)
    cal = calendar_of(session, team)
    span = periods.span_of(period, periods.local_today(cal, now), cal)
    board = team_board(session, team, span, now, kpi=kpi, cal=cal)
    in_group = None
    if not chat.is_private:
        in_group = _in_group(session, chat, team, f"{asked_as}:{period}:{kpi or ''}", cal, now)
    return BoardResult(
        "ok",
        scope.lang_pref,
        board=board,
        me=scope.member.id,
        is_group=not chat.is_private,
        leader=scope.is_leader,
        in_group=in_group,
    )


def _in_group(
    session: Session, chat: ChatInfo, team: Team, report: str, cal: WorkCalendar, now: dt.datetime
) -> GroupReport:
    from kpi import state

    return state.report_in_group(
        session, chat_id=chat.id, team_id=team.id, report=report, cal=cal, now=now
    )


SCORE_WORDS = frozenset({"score", "overall", "diem", "diem tong", "tong diem"})
TEAM_WORDS = frozenset({"team", "whole team", "doi", "ca doi", "nhom", "ca nhom"})


def is_team_word(word: str) -> bool:
    """Tell whether words ask for the whole team rather than oneself (`team`, `cả đội`)."""
    from kpi import parsing

    return parsing.normalize_text(word).strip() in TEAM_WORDS


def is_score_word(word: str) -> bool:
    """Tell whether a word asks for the overall score (the default ranking)."""
    from kpi import parsing

    return parsing.normalize_text(word).strip() in SCORE_WORDS


def find_kpi(session: Session, team_id: int, word: str) -> str | None:
    """Find a KPI by key, name (vi/en, with or without diacritics) or a metric alias."""
    from kpi import parsing

    wanted = parsing.normalize_text(word).replace(" ", "_")
    defs = kpi_defs(session, team_id)
    for k in defs:
        spec = KPI_BY_KEY.get(k.key)
        former = spec.former_names if spec is not None else ()
        names = {k.key, *(parsing.normalize_text(n) for n in (k.name_vi, k.name_en, *former))}
        if wanted in {n.replace(" ", "_") for n in names}:
            return k.key
    words = {
        "doanh_so": "revenue",
        "doanhso": "revenue",
        "sales": "revenue",
        "score": None,
        "diem": None,
    }
    if wanted in words:
        return words[wanted]
    metric = parsing.build_vocabulary(parsing.DEFAULT_ALIASES.items()).get(
        parsing.normalize_text(word)
    )
    keys = {k.key for k in defs}
    return metric if metric in keys else None


@dataclass(frozen=True)
class Trend:
    """One KPI per day over a span, for the team or one member, with the daily target."""

    outcome: str
    lang_pref: str | None
    refusal: LogResult | None = None
    kpi: str | None = None
    kpi_names: tuple[str, str] = ("", "")
    unit: str = "count"
    span: Span | None = None
    days: tuple[dt.date, ...] = ()
    values: tuple[float, ...] = ()
    target_per_day: float | None = None
    who: str | None = None  # the member's name, or None for the team
    word: str | None = None
    # Asked in a group: the chart's key there, and the same chart's post a moment ago.
    in_group: GroupReport | None = None


def trend(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    kpi_word: str | None,
    period: periods.Period = "month",
    handle: str | None = None,
    reply_to: int | None = None,
    whole_team: bool = False,
) -> Trend:
    """Daily values of a counted KPI (or revenue) over the period: `/chart [kpi] [period] [@m]`.

    Without a member it is the caller's own chart in a private chat and the team's in a group
    (or when `whole_team` asks for it).
    """
    from kpi.admin import member_by_handle

    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope, managing=True)
    if refusal is not None:
        return Trend("refused", scope.lang_pref, refusal)
    team = scope.team
    assert team is not None
    key = find_kpi(session, team.id, kpi_word) if kpi_word else "revenue"
    kdef = next((k for k in kpi_defs(session, team.id) if k.key == key), None)
    if kdef is None or kdef.unit == "ratio":
        return Trend("unknown_kpi", scope.lang_pref, word=kpi_word)
    member_id: int | None = None
    who = None
    if handle or reply_to is not None:
        member = member_by_handle(session, team.id, handle, reply_to)
        if member is None:
            return Trend("unknown_member", scope.lang_pref, word=handle)
        if member.id != scope.member.id and not scope.is_leader:
            return Trend("forbidden", scope.lang_pref)
        member_id, who = member.id, member.display_name
    elif chat.is_private and not whole_team:
        member_id, who = scope.member.id, scope.member.display_name
    cal = calendar_of(session, team)
    today = periods.local_today(cal, now)
    span = periods.span_of(period, today, cal)
    end = min(span.end, today)
    sums = store.daily_sums(session, team.id, span.start, end, member_id)
    days = [
        d
        for d in (span.start + dt.timedelta(days=i) for i in range((end - span.start).days + 1))
        if periods.is_working_day(cal, d) or d in sums
    ]
    values = tuple(float(kpi_value(kdef, totals_of(sums.get(d, {}))) or 0) for d in days)
    book = target_book(session, team, cal)
    day_span = periods.span_of("day", _first_working(cal, span) or span.start, cal)
    if not additive(kdef):
        # An average is held to its level every day, not to a share of it.
        per_day = book.for_span(kdef.key, member_id, day_span, prorated=False)
    elif member_id is not None:
        per_day = book.for_span(kdef.key, member_id, day_span)
    else:
        # As on the board: leaders count towards the team's target only when they sell too.
        sold = store.member_sums(session, team.id, span.start, end)
        parts = [
            book.for_span(kdef.key, p.member_id, day_span)
            for p in ranked_people(session, team.id)
            if not p.leader or p.member_id in sold
        ]
        known = [p for p in parts if p is not None]
        per_day = sum(known) if known else None
    in_group = None
    if not chat.is_private:
        report = f"chart:{kdef.key}:{period}:{member_id or ''}"
        in_group = _in_group(session, chat, team, report, cal, now)
    return Trend(
        "ok",
        scope.lang_pref,
        kpi=kdef.key,
        kpi_names=(kdef.name_vi, kdef.name_en),
        unit=kdef.unit,
        span=span,
        days=tuple(days),
        values=values,
        target_per_day=per_day or None,
        who=who,
        in_group=in_group,
    )


def _first_working(cal: WorkCalendar, span: Span) -> dt.date | None:
    return periods.first_working_day(cal, span)
