"""Structured report data: a member's KPIs, team summaries, leaderboards.

Sums come from SQL (kpi.store); KPI values, attainment, pace and scores are computed here from
those sums with kpi.scoring and kpi.periods. Handlers only render these dataclasses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import periods, scoring, store
from kpi.access import ChatInfo, resolve
from kpi.checkins import LogResult, check_scope
from kpi.metrics import DEALS
from kpi.models import KpiDefinition, Team
from kpi.periods import Span, WorkCalendar
from kpi.targets import TargetBook, calendar_of, target_book
from kpi.teams import PersonInfo, settings_of


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


def evaluate(
    kpis: Sequence[KpiDef],
    totals: scoring.Totals,
    previous_totals: scoring.Totals | None,
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
        pace = (
            periods.pace(actual, target, share)
            if actual is not None and target and k.unit != "ratio"
            else None
        )
        prev = kpi_value(k, previous_totals) if previous_totals is not None else None
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
    return {k.key: book.for_span(k.key, member_id, span) for k in kpis}


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
        prev = periods.previous(span, cal)
        cur = store.member_sums(session, team.id, span.start, span.end, [member_id])
        old = store.member_sums(session, team.id, prev.start, prev.end, [member_id])
        share = periods.elapsed_share(cal, span, now)
        lines, _ = evaluate(
            group,
            totals_of(cur.get(member_id, {})),
            totals_of(old.get(member_id, {})),
            _member_targets(book, group, member_id, span),
            share,
            cap,
        )
        for ln in lines:
            out[ln.key] = MeLine(ln, span, share)
    ordered = [out[k.key] for k in kpis]
    score = scoring.overall_score((m.line.attainment.capped, m.line.weight) for m in ordered)
    return ordered, score
