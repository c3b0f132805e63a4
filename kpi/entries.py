"""Rules about entries: today in the team's zone, the edit window, sanity bounds, day totals,
and where a member stands right after logging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import periods, store
from kpi.calendar import calendar_of, today_in
from kpi.catalog import DEALS
from kpi.models import ENTRY_ACTIVE, ENTRY_PENDING, Activity, Metric, Team
from kpi.names import Names
from kpi.store import EntryInput
from kpi.targets import target_book
from kpi.teams import settings_of


@dataclass(frozen=True)
class Progress:
    """Where a metric stands after the check-in, over its target's period."""

    metric: str
    actual: int
    amount: int
    target: float | None
    period: str = "day"


def local_today(team: Team, now: dt.datetime) -> dt.date:
    """Return today's date in the team's timezone."""
    return today_in(team.timezone, now)


def check_day(
    team: Team, role: str | None, day: dt.date, today: dt.date
) -> tuple[str, dict[str, object]] | None:
    """Refuse a future day or one outside the caller's edit window."""
    if day > today:
        return "date.future", {}
    window = edit_window(team, role in ("leader", "admin"))
    if (today - day).days > window:
        return "date.too_old", {"days": window}
    return None


def metric_names(session: Session, team_id: int) -> dict[str, Names]:
    """Return the team's metric names ({language: name}) by key, in catalogue order."""
    rows = session.execute(
        select(Metric.key, Metric.names)
        .where(Metric.team_id == team_id)
        .order_by(Metric.sort_order, Metric.id)
    )
    return {k: names for k, names in rows}


def edit_window(team: Team, leader: bool) -> int:
    """Return how many days back the caller may log or correct (leaders have longer)."""
    s = settings_of(team)
    return s.leader_edit_window_days if leader else s.edit_window_days


def over_bound(
    session: Session,
    team: Team,
    member_id: int,
    entries: Sequence[EntryInput],
    day: dt.date,
    replacing: int | None = None,
) -> tuple[str, int, int] | None:
    """Return (metric, value, bound) for the first entry beyond its sanity bound.

    `replacing` names the check-in an edited message replaces: its own entries do not count.
    """
    bounds = dict(
        session.execute(
            select(Metric.key, Metric.daily_bound).where(Metric.team_id == team.id)
        ).all()
    )
    deal_bound = settings_of(team).deal_amount_bound
    for e in entries:
        if e.metric == DEALS and e.amount is not None and e.amount > deal_bound * max(e.value, 1):
            return "amount", e.amount, deal_bound
        bound = bounds.get(e.metric)
        if bound is None:
            continue
        existing = day_total(session, team.id, member_id, e.metric, day)
        if replacing is not None:
            # An edited message replaces its own entries: they do not count twice.
            existing -= _own_total(session, replacing, e.metric, day)
        if existing + e.value > bound:
            return e.metric, existing + e.value, int(bound)
    return None


def edit_over_bound(
    session: Session, team: Team, entry: Activity, value: int | None, amount: int | None
) -> tuple[str, int, int] | None:
    """Return (metric, new day total or amount, bound) when an edit goes beyond the bound."""
    if amount is not None:
        bound = settings_of(team).deal_amount_bound
        return ("amount", amount, bound) if amount > bound * max(entry.value, 1) else None
    if value is None:
        return None
    daily = session.scalar(
        select(Metric.daily_bound).where(Metric.team_id == team.id, Metric.key == entry.metric)
    )
    if daily is None:
        return None
    others = day_total(session, entry.team_id, entry.member_id, entry.metric, entry.day)
    total = others - entry.value + value
    return (entry.metric, total, int(daily)) if total > daily else None


def logging_metrics(session: Session, team_id: int) -> list[str]:
    """Return the metrics the quick-add keyboard offers (counted ones, not deals)."""
    return [
        k
        for k in session.scalars(
            select(Metric.key)
            .where(Metric.team_id == team_id, Metric.retired_at.is_(None))
            .order_by(Metric.sort_order, Metric.id)
        )
        if k != DEALS
    ]


def day_progress(
    session: Session, team: Team, member_id: int, day: dt.date, metrics: set[str]
) -> tuple[Progress, ...]:
    """Return where the member stands in each metric, over the period its target is set for.

    A daily calls target shows today's calls; a monthly revenue target shows the month so far:
    what a rep wants to see right after logging.
    """
    cal = calendar_of(session, team)
    book = target_book(session, team, cal)
    wanted: list[tuple[str, str]] = []  # (kpi, metric it sums)
    for metric in sorted(metrics):
        wanted.append((metric, metric))
        if metric == DEALS:
            wanted.append(("revenue", DEALS))
    spans: dict[str, periods.Span] = {}
    for kpi, _ in wanted:
        row = book.row(kpi, member_id)
        period = row.period if row is not None else "day"
        spans.setdefault(period, periods.span_of(period, day, cal))  # type: ignore[arg-type]
    sums = {
        period: store.member_sums(session, team.id, span.start, span.end, [member_id]).get(
            member_id, {}
        )
        for period, span in spans.items()
    }
    out = []
    for kpi, metric in wanted:
        row = book.row(kpi, member_id)
        period = row.period if row is not None else "day"
        s = sums[period].get(metric, store.MetricSum())
        actual = s.amount if kpi == "revenue" else s.value
        out.append(Progress(kpi, actual, s.amount, row.value if row is not None else None, period))
    return tuple(out)


def _own_total(session: Session, checkin_id: int, metric: str, day: dt.date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Activity.value), 0)).where(
            Activity.checkin_id == checkin_id,
            Activity.metric == metric,
            Activity.day == day,
            Activity.status.in_((ENTRY_ACTIVE, ENTRY_PENDING)),
        )
    )
    return int(total or 0)


def day_total(session: Session, team_id: int, member_id: int, metric: str, day: dt.date) -> int:
    """Return a member's counted total of one metric on one day."""
    total = session.scalar(
        select(func.coalesce(func.sum(Activity.value), 0)).where(
            Activity.team_id == team_id,
            Activity.member_id == member_id,
            Activity.metric == metric,
            Activity.day == day,
            Activity.status.in_((ENTRY_ACTIVE, ENTRY_PENDING)),
        )
    )
    return int(total or 0)
