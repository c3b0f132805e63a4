"""A team's working calendar: working days, holidays, hours, declared days, "today" in its zone.

Everything but :func:`calendar_of` is pure: the current moment is always an argument (a
tz-aware ``datetime``), never read from the clock. :mod:`kpi.periods` builds periods, pace and
prorating on top of this.

Conventions:

- weekdays are numbered as ``date.weekday()``: 0 = Monday ... 6 = Sunday (PTB's ``run_daily``
  counts 0 as Sunday; convert there, not here);
- a day's working time runs from ``work_start`` to ``work_end`` on the team's wall clock; on a
  daylight-saving change day a wall-clock time that does not exist means the moment the clock
  jumped over it, and one that occurs twice means its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi.models import CalendarDay, Team
from kpi.parsing.times import parse_hhmm

__all__ = [
    "WEEKDAYS",
    "DayKind",
    "WorkCalendar",
    "calendar_from",
    "calendar_of",
    "count_working_days",
    "day_kind",
    "each_day",
    "holiday_name",
    "is_holiday",
    "is_working_day",
    "local_instant",
    "local_now",
    "local_today",
    "next_working_day",
    "normalize_timezone",
    "previous_working_day",
    "today_in",
    "valid_country",
    "valid_timezone",
    "working_days",
    "working_hours_share",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as the config and `/settings` write them, indexed like ``date.weekday()``."""

DayKind = Literal["working", "make_up", "weekend", "holiday", "day_off"]
"""Why a day is or is not a working day (``working`` and ``make_up`` are working days)."""

_ONE_DAY = timedelta(days=1)
# How far next/previous_working_day look before concluding a calendar has no working days.
_SEARCH_LIMIT_DAYS = 400


@dataclass(frozen=True)
class WorkCalendar:
    """A team's working calendar: timezone, week start, working weekdays, hours and exceptions.

    A day is a working day when it is in ``extra_working_days``, or when its weekday is in
    ``working_weekdays`` and it is not a public holiday of ``country``; ``days_off`` overrides
    everything. With ``official_workdays`` the country's official make-up working days (such as
    Vietnam's "làm bù" Saturdays that the ``holidays`` package lists) count too; it is off by
    default because the product lets each team declare its own make-up days.
    """

    timezone: str = "Asia/Ho_Chi_Minh"
    week_start: int = 0
    working_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    work_start: time = time(8, 0)
    work_end: time = time(17, 30)
    country: str | None = "VN"
    extra_working_days: frozenset[date] = frozenset()
    days_off: frozenset[date] = frozenset()
    official_workdays: bool = False

    def __post_init__(self) -> None:
        # Callers (config, database rows) often hand in sets or lists: keep the calendar
        # hashable so that it can key the caches below.
        for name in ("working_weekdays", "extra_working_days", "days_off"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if not valid_timezone(self.timezone):
            raise ValueError(f"invalid_timezone: {self.timezone!r}")
        if not 0 <= self.week_start <= 6:
            raise ValueError(f"invalid_week_start: {self.week_start!r}")
        if any(not 0 <= d <= 6 for d in self.working_weekdays):
            raise ValueError(f"invalid_working_weekdays: {sorted(self.working_weekdays)!r}")
        if self.work_start.tzinfo is not None or self.work_end.tzinfo is not None:
            raise ValueError("invalid_work_hours: times must be naive wall-clock times")
        if not self.work_start < self.work_end:
            raise ValueError(f"invalid_work_hours: {self.work_start} >= {self.work_end}")
        if self.country is not None and not valid_country(self.country):
            raise ValueError(f"invalid_country: {self.country!r}")

    @property
    def tz(self) -> ZoneInfo:
        """Return the team's timezone object."""
        return ZoneInfo(self.timezone)


def valid_timezone(name: str) -> bool:
    """Tell whether ``name`` is an IANA timezone name this system can load."""
    if not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@lru_cache(maxsize=1)
def _timezones_by_folded_name() -> Mapping[str, str]:
    return MappingProxyType({name.casefold(): name for name in available_timezones()})


def normalize_timezone(name: str) -> str | None:
    """Return the canonical spelling of a timezone name typed in any case, or None if unknown."""
    name = name.strip()
    if valid_timezone(name):
        return name
    return _timezones_by_folded_name().get(name.casefold())


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    import holidays  # lazily: a few dozen milliseconds off every start

    return frozenset(holidays.list_supported_countries())


def valid_country(code: str) -> bool:
    """Tell whether the ``holidays`` package knows the public holidays of country ``code``."""
    return code in _supported_countries()


@lru_cache(maxsize=256)
def _holidays_of(country: str, year: int, language: str | None) -> Mapping[date, str]:
    # Building a country's holidays is slow (lunar calendars): once per country and year.
    import holidays

    table = holidays.country_holidays(country, years=year, language=language)
    return MappingProxyType({day: str(name) for day, name in table.items() if day.year == year})


@lru_cache(maxsize=256)
def _official_workdays_of(country: str, year: int) -> frozenset[date]:
    import holidays

    table = holidays.country_holidays(country, years=year)
    # The package keeps one static list for all years: keep only the requested one.
    listed: Iterable[date] = getattr(table, "weekend_workdays", ())
    return frozenset(day for day in listed if day.year == year)


@lru_cache(maxsize=64)
def _holiday_language(country: str, language: str | None) -> str | None:
    if language is None:
        return None
    import holidays

    supported: tuple[str, ...] = tuple(holidays.country_holidays(country).supported_languages)
    if language in supported:
        return language
    prefix = language.replace("-", "_").split("_")[0].casefold()
    for candidate in supported:
        if candidate.split("_")[0].casefold() == prefix:
            return candidate
    return None


def is_holiday(cal: WorkCalendar, day: date) -> bool:
    """Tell whether ``day`` is a public holiday of the calendar's country."""
    return cal.country is not None and day in _holidays_of(cal.country, day.year, None)


def holiday_name(cal: WorkCalendar, day: date, language: str | None = None) -> str | None:
    """Return the public holiday's name on ``day`` (in ``language`` when available), or None.

    ``language`` is a code such as ``"vi"`` or ``"en"``; a language the package does not have
    for the country gives the package's default names.
    """
    if cal.country is None or not is_holiday(cal, day):
        return None
    lang = _holiday_language(cal.country, language)
    return _holidays_of(cal.country, day.year, lang).get(day)


def day_kind(cal: WorkCalendar, day: date) -> DayKind:
    """Classify ``day``: working, make-up working day, weekend, public holiday or day off."""
    if day in cal.days_off:
        return "day_off"
    if day in cal.extra_working_days:
        return "make_up"
    if is_holiday(cal, day):
        return "holiday"
    if (
        cal.official_workdays
        and cal.country is not None
        and day in _official_workdays_of(cal.country, day.year)
    ):
        return "make_up"
    return "working" if day.weekday() in cal.working_weekdays else "weekend"


def is_working_day(cal: WorkCalendar, day: date) -> bool:
    """Tell whether ``day`` is a working day of the team."""
    return day_kind(cal, day) in ("working", "make_up")


@lru_cache(maxsize=8192)
def _working_days(cal: WorkCalendar, start: date, end: date) -> tuple[date, ...]:
    return tuple(day for day in each_day(start, end) if is_working_day(cal, day))


def working_days(cal: WorkCalendar, start: date, end: date) -> list[date]:
    """List the working days from ``start`` to ``end`` inclusive (empty if start > end)."""
    return list(_working_days(cal, start, end))


def count_working_days(cal: WorkCalendar, start: date, end: date) -> int:
    """Count the working days from ``start`` to ``end`` inclusive (0 if start > end)."""
    return len(_working_days(cal, start, end))


def next_working_day(cal: WorkCalendar, day: date) -> date | None:
    """Return the first working day after ``day``, or None if none comes within a year."""
    for offset in range(1, _SEARCH_LIMIT_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if is_working_day(cal, candidate):
            return candidate
    return None


def previous_working_day(cal: WorkCalendar, day: date) -> date | None:
    """Return the last working day before ``day``, or None if none came within a year."""
    for offset in range(1, _SEARCH_LIMIT_DAYS + 1):
        candidate = day - timedelta(days=offset)
        if is_working_day(cal, candidate):
            return candidate
    return None


def each_day(start: date, end: date) -> Iterator[date]:
    """Iterate over the days from ``start`` to ``end`` inclusive (none if start > end)."""
    day = start
    while day <= end:
        yield day
        if day == end:
            break
        day += _ONE_DAY


# --------------------------------------------------------------------------- local time


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive_datetime: `now` must be timezone-aware")


def local_now(cal: WorkCalendar, now: datetime) -> datetime:
    """Return ``now`` on the team's wall clock."""
    _require_aware(now)
    return now.astimezone(cal.tz)


def today_in(timezone: str, now: datetime) -> date:
    """Return the date in ``timezone`` (a team's zone) at the moment ``now``: its "today"."""
    _require_aware(now)
    return now.astimezone(ZoneInfo(timezone)).date()


def local_today(cal: WorkCalendar, now: datetime) -> date:
    """Return the team's local date at the moment ``now``."""
    return today_in(cal.timezone, now)


def local_instant(cal: WorkCalendar, day: date, at: time) -> datetime:
    """Return (in UTC) the first moment the team's clock shows ``at`` or later on ``day``.

    An ambiguous wall-clock time (clocks set back) means its first occurrence; a time that does
    not exist (clocks set forward over it) means the moment of the jump. Either way the result
    never decreases as ``at`` increases, which keeps elapsed shares monotonic.
    """
    tz = cal.tz
    wall = datetime.combine(day, at.replace(tzinfo=None))
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap fold=0 reads the time with the offset from before the jump (landing after it)
    # and fold=1 with the offset from after it (landing before it): the jump lies in between.
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first
    if lo > hi:
        lo, hi = hi, lo
    low_us, high_us = 0, (hi - lo) // timedelta(microseconds=1)
    while low_us < high_us:
        mid = (low_us + high_us) // 2
        probe = lo + timedelta(microseconds=mid)
        if probe.astimezone(tz).replace(tzinfo=None) >= wall:
            high_us = mid
        else:
            low_us = mid + 1
    return lo + timedelta(microseconds=low_us)


def working_hours_share(cal: WorkCalendar, day: date, now: datetime) -> float:
    """Return the share of ``day``'s working hours elapsed at ``now`` (ignores working days)."""
    begin = local_instant(cal, day, cal.work_start)
    end = local_instant(cal, day, cal.work_end)
    if now <= begin:
        return 0.0
    if now >= end:
        return 1.0
    return (now - begin) / (end - begin)


# --------------------------------------------------------------------------- a team's calendar


def calendar_of(session: Session, team: Team) -> WorkCalendar:
    """Build the team's working calendar: weekdays, hours, holidays, declared days."""

    def load() -> WorkCalendar:
        declared = session.execute(
            select(CalendarDay.day, CalendarDay.working).where(CalendarDay.team_id == team.id)
        ).all()
        return calendar_from(team, [(d, w) for d, w in declared])

    # Imported here: kpi.team_cache imports the models, which some of this module's users
    # load after it.
    from kpi import team_cache

    return team_cache.cached(session, team.id, "calendar", load)


def calendar_from(team: Team, declared: Sequence[tuple[date, bool]]) -> WorkCalendar:
    """Build a team's calendar from its row and its declared (day, working) exceptions."""
    return WorkCalendar(
        timezone=team.timezone,
        week_start=team.week_start,
        working_weekdays=frozenset(int(d) for d in team.working_days.split(",") if d != ""),
        work_start=parse_hhmm(team.work_start),
        work_end=parse_hhmm(team.work_end),
        country=team.country or None,
        extra_working_days=frozenset(d for d, working in declared if working),
        days_off=frozenset(d for d, working in declared if not working),
    )
