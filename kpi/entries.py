"""Rules about entries: today in the team's zone, the edit window, sanity bounds, day totals,
and where a member stands right after logging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import periods, store, team_cache
from kpi.calendar import calendar_of, today_in
from kpi.catalog import DEALS
from kpi.models import ENTRY_ACTIVE, ENTRY_PENDING, Activity, Metric, Team
from kpi.names import Names
from kpi.store import EntryInput, StoredEntry
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

    def load() -> dict[str, Names]:
        rows = session.execute(
            select(Metric.key, Metric.names)
            .where(Metric.team_id == team_id)
            .order_by(Metric.sort_order, Metric.id)
        )
        return {k: names for k, names in rows}

    # A copy: callers may add to it.
    return dict(team_cache.cached(session, team_id, "metric_names", load))


def metric_bounds(session: Session, team_id: int) -> dict[str, int | None]:
    """Return each metric's daily sanity bound (None: unbounded)."""

    def load() -> dict[str, int | None]:
        rows = session.execute(
            select(Metric.key, Metric.daily_bound).where(Metric.team_id == team_id)
        )
        return {k: bound for k, bound in rows}

    return team_cache.cached(session, team_id, "metric_bounds", load)


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
    day_totals: dict[str, int] | None = None,
) -> tuple[str, int, int] | None:
    """Return (metric, value, bound) for the first entry beyond its sanity bound.

    `replacing` names the check-in an edited message replaces: its own entries do not count.
    `day_totals` are the member's totals that day when the caller read them already.
    """
    bounds = metric_bounds(session, team.id)
    deal_bound = settings_of(team).deal_amount_bound
    for e in entries:
        if e.metric == DEALS and e.amount is not None and e.amount > deal_bound * max(e.value, 1):
            return "amount", e.amount, deal_bound
        bound = bounds.get(e.metric)
        if bound is None:
            continue
        if day_totals is not None:
            existing = day_totals.get(e.metric, 0)
        else:
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

    def load() -> list[str]:
        keys = session.scalars(
            select(Metric.key)
            .where(Metric.team_id == team_id, Metric.retired_at.is_(None))
            .order_by(Metric.sort_order, Metric.id)
        )
        return [k for k in keys if k != DEALS]

    return list(team_cache.cached(session, team_id, "logging_metrics", load))


@dataclass(frozen=True)
class Standing:
    """Where a member stands in some metrics on a day, read in one query (see `standing`)."""

    wanted: tuple[tuple[str, str, str, float | None], ...]  # (kpi, metric, period, target)
    sums: dict[str, store.Sums]  # by period: counted sums over the period's span
    day_totals: dict[str, int]  # by metric: the day's counted or waiting total
    day: dt.date

    def progress(self, added: Sequence[StoredEntry] = ()) -> tuple[Progress, ...]:
        """Return the progress, counting `added` (entries stored after the query) too."""
        extra: dict[str, tuple[int, int]] = {}
        for e in added:
            if e.status == ENTRY_ACTIVE and e.day == self.day:
                value, amount = extra.get(e.metric, (0, 0))
                extra[e.metric] = (value + e.value, amount + (e.amount or 0))
        out = []
        for kpi, metric, period, target in self.wanted:
            s = self.sums[period].get(metric, store.MetricSum())
            value, amount = extra.get(metric, (0, 0))
            value, amount = s.value + value, s.amount + amount
            actual = amount if kpi == "revenue" else value
            out.append(Progress(kpi, actual, amount, target, period))
        return tuple(out)


def standing(
    session: Session, team: Team, member_id: int, day: dt.date, metrics: set[str]
) -> Standing:
    """Read where the member stands in each metric, over the period its target is set for, and
    the day's totals, in one query (the team's targets and calendar come from the cache)."""
    cal = calendar_of(session, team)
    book = target_book(session, team, cal)
    wanted: list[tuple[str, str, str, float | None]] = []
    spans: dict[str, tuple[dt.date, dt.date]] = {}
    for metric in sorted(metrics):
        kpis = [(metric, metric)] + ([("revenue", DEALS)] if metric == DEALS else [])
        for kpi, summed in kpis:
            row = book.row(kpi, member_id)
            period = row.period if row is not None else "day"
            if period not in spans:
                span = periods.span_of(period, day, cal)  # type: ignore[arg-type]
                spans[period] = (span.start, span.end)
            wanted.append((kpi, summed, period, row.value if row is not None else None))
    sums, totals = store.member_standing(session, team.id, member_id, spans, day, sorted(metrics))
    return Standing(tuple(wanted), sums, totals, day)


def day_progress(
    session: Session, team: Team, member_id: int, day: dt.date, metrics: set[str]
) -> tuple[Progress, ...]:
    """Return where the member stands in each metric, over the period its target is set for.

    A daily calls target shows today's calls; a monthly revenue target shows the month so far:
    what a rep wants to see right after logging.
    """
    return standing(session, team, member_id, day, metrics).progress()


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
