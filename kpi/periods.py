"""Periods, spans and pace, in a team's own calendar (:mod:`kpi.calendar`).

Everything here is pure: the current moment is always an argument (a tz-aware ``datetime``),
never read from the clock. Activities are stored with the local day they count for, so a period
only has to become an inclusive date range (a :class:`Span`) for SQL to aggregate over it; this
module also knows how much of a period's working time has passed, which is what pace, prorated
targets and run rates are built from. A target period without any working day carries no
target (see :func:`prorate`).
"""

from __future__ import annotations

import calendar as _calendar
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Literal, get_args

from kpi.calendar import (
    WorkCalendar,
    count_working_days,
    each_day,
    is_working_day,
    local_today,
    working_days,
    working_hours_share,
)
from kpi.parsing.text import normalize_text
from kpi.parsing.vocabulary import period_phrases

__all__ = [
    "PERIODS",
    "Baseline",
    "Period",
    "PeriodRef",
    "Span",
    "baseline",
    "elapsed_share",
    "first_working_day",
    "last_working_day",
    "membership_share",
    "next_span",
    "pace",
    "parse_period",
    "parse_period_ref",
    "previous",
    "prorate",
    "remaining_working_days",
    "resolve_period_ref",
    "run_rate",
    "shift",
    "span_from_key",
    "span_of",
]

Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: tuple[Period, ...] = get_args(Period)

_ONE_DAY = timedelta(days=1)


# --------------------------------------------------------------------------- spans


_ISO_WEEK_KEY = re.compile(r"(\d{4})-W(\d{2})")
_WEEK_KEY = re.compile(r"(\d{4}-\d{2}-\d{2})w")
_DAY_KEY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH_KEY = re.compile(r"(\d{4})-(\d{2})")
_QUARTER_KEY = re.compile(r"(\d{4})-Q([1-4])")
_YEAR_KEY = re.compile(r"(\d{4})")


def _month_end(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Span:
    """One period: its kind and its first and last local day (both inclusive).

    Construction checks that the dates are a real period of that kind (a week is any seven
    consecutive days, since where a week starts is the calendar's choice).
    """

    period: Period
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ValueError(f"invalid_period: {self.period!r}")
        if self.start > self.end:
            raise ValueError(f"invalid_span: {self.start} > {self.end}")
        if not _is_aligned(self.period, self.start, self.end):
            raise ValueError(f"invalid_span: {self.start}..{self.end} is not one {self.period}")

    @property
    def days(self) -> int:
        """Return the number of calendar days in the span."""
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        """Tell whether ``day`` lies in the span."""
        return self.start <= day <= self.end

    def dates(self) -> Iterator[date]:
        """Iterate over the span's days in order."""
        return each_day(self.start, self.end)

    @property
    def key(self) -> str:
        """Return a short stable key: 2026-11-22, 2026-W47, 2026-11-22w, 2026-11, 2026-Q4, 2026.

        Weeks that start on Monday use the ISO week ("2026-W47", ISO week-numbering year);
        weeks that start on another weekday are keyed by their first day ("2026-11-22w").
        """
        start = self.start
        if self.period == "day":
            return start.isoformat()
        if self.period == "week":
            if start.weekday() == 0:
                iso = start.isocalendar()
                return f"{iso.year:04d}-W{iso.week:02d}"
            return f"{start.isoformat()}w"
        if self.period == "month":
            return f"{start.year:04d}-{start.month:02d}"
        if self.period == "quarter":
            return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
        return f"{start.year:04d}"


def _is_aligned(period: Period, start: date, end: date) -> bool:
    if period == "day":
        return start == end
    if period == "week":
        return (end - start).days == 6
    if start.day != 1:
        return False
    if period == "month":
        return end == _month_end(start.year, start.month)
    if period == "quarter":
        return start.month % 3 == 1 and end == _month_end(start.year, start.month + 2)
    return start.month == 1 and end == date(start.year, 12, 31)


def span_of(period: Period, day: date, cal: WorkCalendar) -> Span:
    """Return the period of kind ``period`` that contains ``day``."""
    if period == "day":
        return Span("day", day, day)
    if period == "week":
        start = day - timedelta(days=(day.weekday() - cal.week_start) % 7)
        return Span("week", start, start + timedelta(days=6))
    if period == "month":
        return Span("month", day.replace(day=1), _month_end(day.year, day.month))
    if period == "quarter":
        first_month = (day.month - 1) // 3 * 3 + 1
        return Span(
            "quarter", date(day.year, first_month, 1), _month_end(day.year, first_month + 2)
        )
    if period == "year":
        return Span("year", date(day.year, 1, 1), date(day.year, 12, 31))
    raise ValueError(f"invalid_period: {period!r}")


def previous(span: Span, cal: WorkCalendar) -> Span:
    """Return the period of the same kind just before ``span``."""
    return span_of(span.period, span.start - _ONE_DAY, cal)


def next_span(span: Span, cal: WorkCalendar) -> Span:
    """Return the period of the same kind just after ``span``."""
    return span_of(span.period, span.end + _ONE_DAY, cal)


def shift(span: Span, count: int, cal: WorkCalendar) -> Span:
    """Return the period ``count`` periods after ``span`` (before it when negative)."""
    step = next_span if count > 0 else previous
    for _ in range(abs(count)):
        span = step(span, cal)
    return span


def span_from_key(key: str) -> Span | None:
    """Return the span a :attr:`Span.key` names, or None if ``key`` is not a valid key."""
    try:
        if m := _DAY_KEY.fullmatch(key):
            day = date(int(m[1]), int(m[2]), int(m[3]))
            return Span("day", day, day)
        if m := _ISO_WEEK_KEY.fullmatch(key):
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return Span("week", monday, monday + timedelta(days=6))
        if m := _WEEK_KEY.fullmatch(key):
            start = date.fromisoformat(m[1])
            if start.weekday() == 0:
                return None  # Monday weeks have their ISO key: keep keys unique.
            return Span("week", start, start + timedelta(days=6))
        if m := _MONTH_KEY.fullmatch(key):
            year, month = int(m[1]), int(m[2])
            return Span("month", date(year, month, 1), _month_end(year, month))
        if m := _QUARTER_KEY.fullmatch(key):
            year, first_month = int(m[1]), (int(m[2]) - 1) * 3 + 1
            return Span("quarter", date(year, first_month, 1), _month_end(year, first_month + 2))
        if m := _YEAR_KEY.fullmatch(key):
            year = int(m[1])
            return Span("year", date(year, 1, 1), date(year, 12, 31))
    except (ValueError, OverflowError):
        return None
    return None


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class PeriodRef:
    """A period named relative to today: ``offset`` 0 is the current one, -1 the previous."""

    period: Period
    offset: int = 0


def _fold(text: str) -> str:
    """Fold text as the parser does, and drop all separators: "Tuần  này" -> "tuannay"."""
    return re.sub(r"[\s_\-./]+", "", normalize_text(text))


def _build_period_words() -> Mapping[str, PeriodRef]:
    """Read every language's period names (`kpi.parsing.vocabulary`) into one table."""
    table: dict[str, PeriodRef] = {}
    for period, offset, phrase in period_phrases():
        if period not in PERIODS:
            raise ValueError(f"unknown period in a vocabulary file: {period!r}")
        folded = _fold(phrase)
        ref = PeriodRef(period, offset)
        if table.setdefault(folded, ref) != ref:
            raise ValueError(f"the period name {phrase!r} means two periods across languages")
    return MappingProxyType(table)


_PERIOD_WORDS = _build_period_words()


def parse_period_ref(text: str) -> PeriodRef | None:
    """Read a period word or phrase such as "tuần", "tháng trước", "last week" or "hom nay"."""
    return _PERIOD_WORDS.get(_fold(text))


def parse_period(word: str) -> Period | None:
    """Read a word naming a period ("week", "tuần", "tuan", "hôm nay"), or None if it is not one.

    Phrases that name another period than the current one ("last week") give None here; read
    them with :func:`parse_period_ref`.
    """
    ref = parse_period_ref(word)
    return ref.period if ref is not None and ref.offset == 0 else None


def resolve_period_ref(ref: PeriodRef, today: date, cal: WorkCalendar) -> Span:
    """Return the span that ``ref`` names when the team's local date is ``today``."""
    return shift(span_of(ref.period, today, cal), ref.offset, cal)


# --------------------------------------------------------------------------- working time


def elapsed_share(cal: WorkCalendar, span: Span, now: datetime) -> float:
    """Return the share of ``span``'s working time elapsed at ``now``, in [0, 1].

    Working days before today count fully, today by the share of its working hours passed on
    the team's clock, non-working days not at all. A span that has not begun is at 0 and one
    that has ended at 1. A span with no working time at all stays at 0 until it has ended:
    nothing is expected of anyone in it (pace is None there).
    """
    today = local_today(cal, now)
    if today < span.start:
        return 0.0
    if today > span.end:
        return 1.0
    total = count_working_days(cal, span.start, span.end)
    if total == 0:
        return 0.0
    done: float = (
        count_working_days(cal, span.start, today - _ONE_DAY) if today > span.start else 0
    )
    if is_working_day(cal, today):
        done += working_hours_share(cal, today, now)
    return min(1.0, max(0.0, done / total))


def remaining_working_days(
    cal: WorkCalendar, span: Span, now: datetime, *, include_today: bool
) -> int:
    """Count the span's working days still ahead at ``now`` (today too if ``include_today``)."""
    today = local_today(cal, now)
    if today > span.end:
        return 0
    if today < span.start:
        return count_working_days(cal, span.start, span.end)
    first = today if include_today else today + _ONE_DAY
    return count_working_days(cal, first, span.end)


def first_working_day(cal: WorkCalendar, span: Span) -> date | None:
    """Return the span's first working day, or None if it has none."""
    days = working_days(cal, span.start, span.end)
    return days[0] if days else None


def last_working_day(cal: WorkCalendar, span: Span) -> date | None:
    """Return the span's last working day, or None if it has none."""
    days = working_days(cal, span.start, span.end)
    return days[-1] if days else None


def _target_units(cal: WorkCalendar, per: Period, start: date, end: date) -> float:
    """Return how many ``per`` periods the days start..end make up, weighted by working days."""
    if per == "day":
        # A daily target applies to each working day whole.
        return float(count_working_days(cal, start, end))
    units = 0.0
    span = span_of(per, start, cal)
    while span.start <= end:
        total = count_working_days(cal, span.start, span.end)
        if total:
            part = count_working_days(cal, max(start, span.start), min(end, span.end))
            units += part / total
        if span.end >= end:
            break
        span = next_span(span, cal)
    return units


def prorate(value: float, per: Period | Span, view: Span, cal: WorkCalendar) -> float:
    """Return the part of a target of ``value`` per ``per`` period that falls in ``view``.

    The target recurs every period of kind ``per`` (a :class:`Span` stands for its kind) and is
    spread over each period's working days: a monthly target viewed for one day is value ×
    1 / working days of the month, a daily target viewed for a month is value × its working
    days, a weekly target viewed for a month prorates the weeks that straddle its edges. A
    period without working days carries no target, so it contributes 0 (otherwise a daily
    target would count on Sundays and during Tết).
    """
    kind = per.period if isinstance(per, Span) else per
    if kind not in PERIODS:
        raise ValueError(f"invalid_period: {kind!r}")
    return value * _target_units(cal, kind, view.start, view.end)


def membership_share(
    cal: WorkCalendar,
    span: Span,
    joined: date | None,
    left: date | None,
    away: Sequence[tuple[date, date]] = (),
) -> float:
    """Return the share of ``span``'s working days on which a member belonged to the team.

    ``joined`` is the first and ``left`` the last day of membership (both inclusive; None means
    open-ended); the days of ``away`` (approved leave, first and last day inclusive, not
    overlapping) are not counted, so a member on leave is held to the days they are there, as
    a joiner is. For a span without working days the share of calendar days is used instead.
    """
    first = span.start if joined is None else max(span.start, joined)
    last = span.end if left is None else min(span.end, left)
    if first > last:
        return 0.0
    gaps = [(max(a, first), min(b, last)) for a, b in away if a <= last and b >= first]
    if first == span.start and last == span.end and not gaps:
        # Most members belong for the whole span: a ranking of thousands need not count its
        # working days twice for each of them.
        return 1.0
    total = count_working_days(cal, span.start, span.end)
    if total == 0:
        here = (last - first).days + 1 - sum((b - a).days + 1 for a, b in gaps)
        return max(here, 0) / span.days
    here = count_working_days(cal, first, last) - sum(
        count_working_days(cal, a, b) for a, b in gaps
    )
    return max(here, 0) / total


def pace(actual: float, target: float, share: float) -> float | None:
    """Return actual / (target × share), or None when nothing is expected yet (product ≤ 0)."""
    expected = target * share
    if not math.isfinite(expected) or expected <= 0:
        return None
    return actual / expected


def run_rate(remaining: float, days_left: int) -> float | None:
    """Return what is needed per working day to close ``remaining``; None with no days left.

    A target already reached (``remaining`` ≤ 0) needs 0 a day.
    """
    if days_left <= 0:
        return None
    return max(0.0, remaining) / days_left


@dataclass(frozen=True)
class Baseline:
    """The part of the previous period that growth compares a period with.

    A period in progress (``same_point``) is compared with the previous one up to the same
    elapsed share of its working time: the days from its start through ``whole_through`` count
    whole (None: none of them) and ``partial_day`` by ``fraction``. A period whose working time
    is over is compared with all of the previous one.
    """

    previous: Span
    same_point: bool
    whole_through: date | None
    partial_day: date | None = None
    fraction: float = 0.0


def baseline(cal: WorkCalendar, span: Span, now: datetime) -> Baseline:
    """Return what ``span`` is compared with at ``now`` (growth like with like)."""
    prev = previous(span, cal)
    share = elapsed_share(cal, span, now)
    days = working_days(cal, prev.start, prev.end)
    if share >= 1 or local_today(cal, now) > span.end or not days:
        # Over, or nothing to take a share of (the day before a Monday is a Sunday).
        return Baseline(prev, False, prev.end)
    wanted = share * len(days)
    whole = min(math.floor(wanted + 1e-9), len(days) - 1)
    fraction = max(0.0, wanted - whole)
    # Days off between the working days taken whole count with them: weekend entries too.
    following = days[whole]
    through = following - _ONE_DAY
    return Baseline(
        prev,
        True,
        through if through >= prev.start else None,
        following if fraction > 1e-9 else None,
        fraction if fraction > 1e-9 else 0.0,
    )
