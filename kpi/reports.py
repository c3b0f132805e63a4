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
class MeReport:
    """A member's own KPIs over a period."""

    outcome: str
    lang_pref: str | None
    refusal: LogResult | None
    team_title: str = ""
    member_name: str = ""
    span: Span | None = None
    share: float = 0.0
    lines: tuple[KpiLine, ...] = ()
    names: Mapping[str, tuple[str, str]] | None = None
    score: float | None = None
    working_day: bool = True


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
    period: periods.Period = "day",
) -> MeReport:
    """Compute the caller's own KPIs for the period containing today."""
    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope)
    if refusal is not None:
        return MeReport("refused", scope.lang_pref, refusal)
    team = scope.team
    assert team is not None
    cal = calendar_of(session, team)
    today = periods.local_today(cal, now)
    span = periods.span_of(period, today, cal)
    prev = periods.previous(span, cal)
    lines, score = member_kpi_lines(session, team, cal, scope.member.id, span, prev, now)
    names = {ln.key: ln for ln in lines}
    defs = {k.key: (k.name_vi, k.name_en) for k in kpi_defs(session, team.id)}
    return MeReport(
        "ok",
        scope.lang_pref,
        None,
        team.title,
        scope.member.display_name,
        span,
        periods.elapsed_share(cal, span, now),
        tuple(lines),
        {k: defs[k] for k in names if k in defs},
        score,
        periods.is_working_day(cal, today),
    )


def member_kpi_lines(
    session: Session,
    team: Team,
    cal: WorkCalendar,
    member_id: int,
    span: Span,
    prev: Span,
    now: dt.datetime,
) -> tuple[list[KpiLine], float | None]:
    """Evaluate one member's KPIs that have a target or a weight, for a span."""
    book = target_book(session, team, cal)
    kpis = [
        k
        for k in kpi_defs(session, team.id, span.end)
        if book.row(k.key, member_id) is not None or k.weight > 0
    ]
    cur = store.member_sums(session, team.id, span.start, span.end, [member_id]).get(member_id, {})
    old = store.member_sums(session, team.id, prev.start, prev.end, [member_id]).get(member_id, {})
    share = periods.elapsed_share(cal, span, now)
    return evaluate(
        kpis,
        totals_of(cur),
        totals_of(old),
        _member_targets(book, kpis, member_id, span),
        share,
        settings_of(team).attainment_cap,
    )
