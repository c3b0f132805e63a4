"""Tests for kpi.periods: spans, working days, elapsed working time, prorating and pace."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kpi.calendar import (
    WorkCalendar,
    count_working_days,
    day_kind,
    holiday_name,
    is_holiday,
    is_working_day,
    local_instant,
    local_now,
    local_today,
    next_working_day,
    normalize_timezone,
    previous_working_day,
    valid_timezone,
    working_days,
)
from kpi.periods import (
    PERIODS,
    Period,
    PeriodRef,
    Span,
    baseline,
    elapsed_share,
    first_working_day,
    last_working_day,
    membership_share,
    next_span,
    pace,
    parse_period,
    parse_period_ref,
    previous,
    prorate,
    remaining_working_days,
    resolve_period_ref,
    run_rate,
    shift,
    span_from_key,
    span_of,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
VN = WorkCalendar()
MON_SAT = WorkCalendar(working_weekdays=frozenset(range(6)))


def d(text: str) -> date:
    """Return the date written as YYYY-MM-DD."""
    return date.fromisoformat(text)


def at(day: str, clock: str, tz: ZoneInfo = HCM) -> datetime:
    """Return the aware datetime for a local day and HH:MM in ``tz``."""
    return datetime.combine(d(day), time.fromisoformat(clock), tzinfo=tz)


# --------------------------------------------------------------------------- spans: examples


def test_week_spanning_month_and_year_boundary() -> None:
    week = span_of("week", d("2027-01-01"), VN)
    assert (week.start, week.end) == (d("2026-12-28"), d("2027-01-03"))
    assert week.key == "2026-W53"
    assert week.days == 7
    assert week.contains(d("2026-12-31")) and week.contains(d("2027-01-03"))
    assert not week.contains(d("2027-01-04"))
    # New Year's Day is a public holiday; the weekend is not worked.
    assert working_days(VN, week.start, week.end) == [
        d("2026-12-28"),
        d("2026-12-29"),
        d("2026-12-30"),
        d("2026-12-31"),
    ]
    following = next_span(week, VN)
    assert following.start == d("2027-01-04") and following.key == "2027-W01"
    assert previous(following, VN) == week


@pytest.mark.parametrize(
    ("week_start", "start", "end", "key"),
    [
        (6, "2026-11-22", "2026-11-28", "2026-11-22w"),  # Sunday
        (5, "2026-11-21", "2026-11-27", "2026-11-21w"),  # Saturday
        (0, "2026-11-23", "2026-11-29", "2026-W48"),
    ],
)
def test_week_start_is_configurable(week_start: int, start: str, end: str, key: str) -> None:
    cal = WorkCalendar(week_start=week_start)
    week = span_of("week", d("2026-11-24"), cal)
    assert (week.start, week.end) == (d(start), d(end))
    assert week.key == key
    assert span_from_key(key) == week


def test_week_straddling_a_month_keeps_both_months_days() -> None:
    cal = WorkCalendar(week_start=6)
    week = span_of("week", d("2026-12-01"), cal)
    assert (week.start, week.end) == (d("2026-11-29"), d("2026-12-05"))
    assert count_working_days(cal, week.start, week.end) == 5


def test_quarter_boundaries() -> None:
    q1 = span_of("quarter", d("2026-03-31"), VN)
    q2 = span_of("quarter", d("2026-04-01"), VN)
    assert (q1.start, q1.end, q1.key) == (d("2026-01-01"), d("2026-03-31"), "2026-Q1")
    assert (q2.start, q2.end, q2.key) == (d("2026-04-01"), d("2026-06-30"), "2026-Q2")
    assert next_span(q1, VN) == q2
    q4_2025 = previous(q1, VN)
    assert (q4_2025.start, q4_2025.end, q4_2025.key) == (
        d("2025-10-01"),
        d("2025-12-31"),
        "2025-Q4",
    )
    assert next_span(span_of("quarter", d("2026-12-31"), VN), VN).key == "2027-Q1"


def test_month_and_year_spans() -> None:
    feb = span_of("month", d("2028-02-10"), VN)
    assert (feb.start, feb.end, feb.key, feb.days) == (
        d("2028-02-01"),
        d("2028-02-29"),
        "2028-02",
        29,
    )
    year = span_of("year", d("2026-07-04"), VN)
    assert (year.start, year.end, year.key) == (d("2026-01-01"), d("2026-12-31"), "2026")
    day = span_of("day", d("2026-07-04"), VN)
    assert (day.start, day.end, day.key) == (d("2026-07-04"), d("2026-07-04"), "2026-07-04")


def test_shift_moves_by_whole_periods() -> None:
    month = span_of("month", d("2026-11-15"), VN)
    assert shift(month, -11, VN).key == "2025-12"
    assert shift(month, 2, VN).key == "2027-01"
    assert shift(month, 0, VN) == month


def test_span_rejects_dates_that_are_not_one_period() -> None:
    with pytest.raises(ValueError):
        Span("month", d("2026-11-02"), d("2026-11-30"))
    with pytest.raises(ValueError):
        Span("week", d("2026-11-02"), d("2026-11-07"))
    with pytest.raises(ValueError):
        Span("day", d("2026-11-03"), d("2026-11-02"))
    with pytest.raises(ValueError):
        Span("quarter", d("2026-02-01"), d("2026-04-30"))


@pytest.mark.parametrize(
    "key", ["", "2026-13", "2026-W54", "2025-W53", "2026-Q5", "2026-11-23w", "26", "2026-02-30"]
)
def test_span_from_key_rejects_invalid_keys(key: str) -> None:
    # 2025 has 52 ISO weeks; a Monday week is keyed by its ISO week only.
    assert span_from_key(key) is None


# --------------------------------------------------------------------------- working days


def test_tet_2027_working_days() -> None:
    feb = span_of("month", d("2027-02-01"), VN)
    # February 2027 has 20 weekdays; Tết takes 4, 5, 8, 9 and 10 February (6-7 are a weekend).
    assert count_working_days(VN, feb.start, feb.end) == 15
    for day in ("2027-02-04", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"):
        assert not is_working_day(VN, d(day))
        assert day_kind(VN, d(day)) == "holiday"
    tet_week = span_of("week", d("2027-02-08"), VN)
    assert working_days(VN, tet_week.start, tet_week.end) == [d("2027-02-11"), d("2027-02-12")]
    assert first_working_day(VN, tet_week) == d("2027-02-11")
    # A Monday–Saturday team loses the Saturday of Tết as well: 24 days - 6.
    assert count_working_days(MON_SAT, feb.start, feb.end) == 18


def test_vietnam_cultural_day_2026_is_not_a_working_day() -> None:
    day = d("2026-11-24")
    assert day.weekday() == 1
    assert is_holiday(VN, day)
    assert not is_working_day(VN, day)
    assert day_kind(VN, day) == "holiday"
    assert holiday_name(VN, day, "vi") == "Ngày Văn hóa Việt Nam"
    assert holiday_name(VN, day, "en") == "Vietnam Cultural Day"
    assert holiday_name(VN, d("2026-11-25")) is None
    nov = span_of("month", day, VN)
    assert count_working_days(VN, nov.start, nov.end) == 20  # 21 weekdays minus the 24th


def test_declared_make_up_saturday_counts_and_day_off_does_not() -> None:
    saturday, friday = d("2026-11-28"), d("2026-11-27")
    nov = span_of("month", saturday, VN)
    make_up = WorkCalendar(extra_working_days=frozenset({saturday}))
    assert is_working_day(make_up, saturday) and day_kind(make_up, saturday) == "make_up"
    assert not is_working_day(VN, saturday) and day_kind(VN, saturday) == "weekend"
    assert count_working_days(make_up, nov.start, nov.end) == 21
    off = WorkCalendar(days_off=frozenset({friday}))
    assert not is_working_day(off, friday) and day_kind(off, friday) == "day_off"
    assert count_working_days(off, nov.start, nov.end) == 19
    # A declared day off wins over a declared working day; a declared working day wins over
    # a public holiday.
    both = WorkCalendar(extra_working_days=frozenset({friday}), days_off=frozenset({friday}))
    assert not is_working_day(both, friday)
    on_holiday = WorkCalendar(extra_working_days=[d("2026-11-24")])  # type: ignore[arg-type]
    assert is_working_day(on_holiday, d("2026-11-24"))


def test_official_make_up_days_only_when_asked() -> None:
    saturday = d("2026-08-22")  # the package lists it as worked for the 31 August day off
    assert not is_working_day(VN, saturday)
    assert is_working_day(WorkCalendar(official_workdays=True), saturday)
    assert not is_working_day(VN, d("2026-08-31"))


def test_calendar_without_country_has_no_holidays() -> None:
    cal = WorkCalendar(country=None)
    assert is_working_day(cal, d("2026-11-24"))
    assert holiday_name(cal, d("2026-11-24")) is None


def test_next_and_previous_working_day() -> None:
    assert next_working_day(VN, d("2026-11-23")) == d("2026-11-25")  # skips the holiday
    assert previous_working_day(VN, d("2026-11-30")) == d("2026-11-27")
    nobody_works = WorkCalendar(working_weekdays=frozenset())
    assert next_working_day(nobody_works, d("2026-11-23")) is None
    assert first_working_day(nobody_works, span_of("month", d("2026-11-23"), VN)) is None
    assert last_working_day(VN, span_of("month", d("2026-11-23"), VN)) == d("2026-11-30")


# --------------------------------------------------------------------------- calendars, time


def test_calendar_validation() -> None:
    with pytest.raises(ValueError, match="invalid_timezone"):
        WorkCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="invalid_week_start"):
        WorkCalendar(week_start=7)
    with pytest.raises(ValueError, match="invalid_working_weekdays"):
        WorkCalendar(working_weekdays=frozenset({7}))
    with pytest.raises(ValueError, match="invalid_work_hours"):
        WorkCalendar(work_start=time(18), work_end=time(8))
    with pytest.raises(ValueError, match="invalid_country"):
        WorkCalendar(country="XX")
    # Sets and lists from configuration become frozensets, so the calendar stays hashable.
    cal = WorkCalendar(working_weekdays={0, 1, 2, 3, 4, 5})  # type: ignore[arg-type]
    assert isinstance(cal.working_weekdays, frozenset)
    assert hash(cal) == hash(WorkCalendar(working_weekdays=frozenset(range(6))))


def test_timezone_names() -> None:
    assert valid_timezone("Asia/Ho_Chi_Minh") and valid_timezone("Europe/Berlin")
    for bad in ("", "Asia", "Mars/Olympus", "../etc/passwd", " Asia/Ho_Chi_Minh"):
        assert not valid_timezone(bad)
    assert normalize_timezone("asia/ho_chi_minh") == "Asia/Ho_Chi_Minh"
    assert normalize_timezone(" America/New_York ") == "America/New_York"
    assert normalize_timezone("Nowhere/City") is None


def test_local_time_and_naive_datetimes() -> None:
    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert local_today(VN, now) == d("2026-11-25")
    assert local_now(VN, now).hour == 3
    with pytest.raises(ValueError, match="naive"):
        local_today(VN, datetime(2026, 11, 24, 20, 0))


def test_local_instant_on_dst_changes() -> None:
    ny = WorkCalendar(timezone="America/New_York", country="US")
    # 02:30 does not exist on 8 March 2026: the clock jumps from 02:00 EST to 03:00 EDT.
    assert local_instant(ny, d("2026-03-08"), time(2, 30)) == datetime(2026, 3, 8, 7, tzinfo=UTC)
    # 01:30 happens twice on 1 November 2026: the first time, in EDT.
    assert local_instant(ny, d("2026-11-01"), time(1, 30)) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )
    assert local_instant(VN, d("2026-11-24"), time(8)) == datetime(2026, 11, 24, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- elapsed share


def test_elapsed_share_examples() -> None:
    nov = span_of("month", d("2026-11-25"), VN)
    today = span_of("day", d("2026-11-25"), VN)
    noon = at("2026-11-25", "12:45")  # half of 08:00-17:30
    assert elapsed_share(VN, today, noon) == pytest.approx(0.5)
    # 16 working days of November are over (the 24th is a holiday), plus half a day, of 20.
    assert elapsed_share(VN, nov, noon) == pytest.approx(16.5 / 20)
    assert elapsed_share(VN, today, at("2026-11-25", "07:59")) == 0.0
    assert elapsed_share(VN, today, at("2026-11-25", "17:30")) == 1.0
    assert elapsed_share(VN, nov, at("2026-12-01", "00:00")) == 1.0
    assert elapsed_share(VN, nov, at("2026-10-31", "23:59")) == 0.0
    # 01:00 UTC on the 25th is 08:00 in Ho Chi Minh City: the working day just began.
    assert elapsed_share(VN, today, datetime(2026, 11, 25, 1, 0, tzinfo=UTC)) == 0.0


def test_elapsed_share_without_working_time() -> None:
    sunday = span_of("day", d("2026-11-29"), VN)
    assert elapsed_share(VN, sunday, at("2026-11-29", "12:00")) == 0.0
    assert elapsed_share(VN, sunday, at("2026-11-30", "00:00")) == 1.0
    holiday = span_of("day", d("2026-11-24"), VN)
    assert elapsed_share(VN, holiday, at("2026-11-24", "16:00")) == 0.0
    # On a weekend the week's working time is all spent.
    week = span_of("week", d("2026-11-28"), VN)
    assert elapsed_share(VN, week, at("2026-11-28", "10:00")) == 1.0


@pytest.mark.parametrize(
    ("zone", "change_day"),
    [
        ("Europe/Berlin", "2026-03-29"),
        ("Europe/Berlin", "2026-10-25"),
        ("America/New_York", "2026-03-08"),
        ("America/New_York", "2026-11-01"),
    ],
)
@pytest.mark.parametrize(("start", "end"), [(time(0, 30), time(4, 0)), (time(8), time(17, 30))])
def test_elapsed_share_on_dst_change_days(
    zone: str, change_day: str, start: time, end: time
) -> None:
    cal = WorkCalendar(
        timezone=zone,
        country=None,
        working_weekdays=frozenset(range(7)),
        work_start=start,
        work_end=end,
    )
    day = d(change_day)
    spans = [span_of("day", day, cal), span_of("week", day, cal), span_of("month", day, cal)]
    # Step in UTC: arithmetic on an aware local datetime moves the wall clock, not time.
    now = datetime.combine(day - timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    stop = now + timedelta(days=3)
    last = [-1.0] * len(spans)
    while now < stop:
        for i, span in enumerate(spans):
            share = elapsed_share(cal, span, now)
            assert 0.0 <= share <= 1.0
            assert share >= last[i], (span, now)
            last[i] = share
        now += timedelta(minutes=5)
    assert last[0] == 1.0
    # The change day's working time still counts as one full working day.
    assert elapsed_share(cal, spans[0], datetime.combine(day, end, tzinfo=ZoneInfo(zone))) == 1.0


def test_remaining_working_days() -> None:
    nov = span_of("month", d("2026-11-25"), VN)
    noon = at("2026-11-25", "12:00")
    # 25, 26, 27 and 30 November are left.
    assert remaining_working_days(VN, nov, noon, include_today=True) == 4
    assert remaining_working_days(VN, nov, noon, include_today=False) == 3
    assert remaining_working_days(VN, nov, at("2026-10-30", "12:00"), include_today=False) == 20
    assert remaining_working_days(VN, nov, at("2026-12-01", "09:00"), include_today=True) == 0


# --------------------------------------------------------------------------- prorating, pace


def test_prorate_examples() -> None:
    feb = span_of("month", d("2027-02-01"), VN)
    # A daily target over a month counts each working day once: Tết days and weekends add 0.
    assert prorate(20, "day", feb, VN) == 20 * 15
    one_day = span_of("day", d("2027-02-01"), VN)
    assert prorate(300, feb, one_day, VN) == pytest.approx(20)
    assert prorate(300, feb, span_of("day", d("2027-02-08"), VN), VN) == 0
    # A weekly target over November 2026: 26 Oct-1 Nov adds nothing (1 Nov is a Sunday), the
    # next four weeks count whole (the one with the 24th has 4 working days of 4) and
    # 30 Nov-6 Dec adds 1 of its 5 working days.
    nov = span_of("month", d("2026-11-01"), VN)
    assert prorate(50, "week", nov, VN) == pytest.approx(50 * 4.2)
    # A target for a span without working days carries nothing.
    assert prorate(20, "day", span_of("day", d("2026-11-29"), VN), VN) == 0
    tet_week_cal = WorkCalendar(days_off=frozenset({d("2027-02-11"), d("2027-02-12")}))
    tet_week = span_of("week", d("2027-02-08"), VN)
    assert prorate(100, "week", tet_week, tet_week_cal) == 0


def test_membership_share_examples() -> None:
    nov = span_of("month", d("2026-11-01"), VN)
    # From the 16th: 16-20, 23, 25-27 and 30 November are 10 of the month's 20 working days.
    assert membership_share(VN, nov, d("2026-11-16"), None) == pytest.approx(0.5)
    assert membership_share(VN, nov, None, None) == 1.0
    assert membership_share(VN, nov, d("2026-12-01"), None) == 0.0
    assert membership_share(VN, nov, None, d("2026-11-06")) == pytest.approx(5 / 20)
    assert membership_share(VN, nov, d("2026-11-10"), d("2026-11-09")) == 0.0


def test_pace_and_run_rate_examples() -> None:
    assert pace(15, 20, 0.5) == pytest.approx(1.5)
    assert pace(5, 20, 0.0) is None
    assert pace(5, 0, 0.7) is None
    assert run_rate(60, 4) == 15
    assert run_rate(-5, 4) == 0
    assert run_rate(10, 0) is None


# --------------------------------------------------------------------------- growth baseline


def test_a_month_in_progress_is_compared_with_the_same_point_of_the_last_one() -> None:
    dec = span_of("month", d("2026-12-01"), VN)
    # Friday 4 December 16:30: 3 + 8.5/9.5 of December's 23 working days have passed.
    base = baseline(VN, dec, at("2026-12-04", "16:30"))
    assert base.previous == span_of("month", d("2026-11-01"), VN)
    assert base.same_point
    # The same share of November's 20 working days is 3.39 of them: 2, 3 and 4 November whole
    # (and Sunday the 1st before them), then 39% of the 5th.
    assert base.whole_through == d("2026-11-04")
    assert base.partial_day == d("2026-11-05")
    assert base.fraction == pytest.approx((3 + 8.5 / 9.5) / 23 * 20 - 3)


def test_a_closed_period_is_compared_with_all_of_the_previous_one() -> None:
    nov = span_of("month", d("2026-11-01"), VN)
    base = baseline(VN, nov, at("2026-12-01", "09:00"))
    assert not base.same_point
    assert (base.previous.start, base.whole_through) == (d("2026-10-01"), d("2026-10-31"))
    assert base.partial_day is None
    # A day whose working hours are over is compared with all of the day before.
    friday = span_of("day", d("2026-12-04"), VN)
    evening = baseline(VN, friday, at("2026-12-04", "18:00"))
    assert not evening.same_point and evening.whole_through == d("2026-12-03")


def test_a_day_in_progress_is_compared_with_the_same_time_the_day_before() -> None:
    friday = span_of("day", d("2026-12-04"), VN)
    base = baseline(VN, friday, at("2026-12-04", "10:00"))
    assert base.same_point
    assert base.whole_through is None
    assert base.partial_day == d("2026-12-03")
    assert base.fraction == pytest.approx(2 / 9.5)
    # Monday is compared with Sunday, which has no working time to share: all of it.
    monday = span_of("day", d("2026-12-07"), VN)
    sunday = baseline(VN, monday, at("2026-12-07", "10:00"))
    assert not sunday.same_point and sunday.whole_through == d("2026-12-06")


def test_a_week_in_progress_skips_the_previous_weeks_holiday() -> None:
    week = span_of("week", d("2026-11-30"), VN)
    # Tuesday 1 December 08:00: one working day of five has passed. The week before has four
    # (24 November is a holiday): 0.8 of Monday the 23rd.
    base = baseline(VN, week, at("2026-12-01", "08:00"))
    assert base.same_point and base.whole_through is None
    assert base.partial_day == d("2026-11-23")
    assert base.fraction == pytest.approx(0.8)
    # Thursday 08:00: three of five, 2.4 of four: Monday, Wednesday (and the holiday) whole.
    thursday = baseline(VN, week, at("2026-12-03", "08:00"))
    assert thursday.whole_through == d("2026-11-25")
    assert thursday.partial_day == d("2026-11-26")
    assert thursday.fraction == pytest.approx(0.4)


@given(
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    minute=st.integers(min_value=0, max_value=24 * 60 - 1),
    period=st.sampled_from(PERIODS),
)
def test_the_baseline_lies_inside_the_previous_period(
    day: date, minute: int, period: Period
) -> None:
    now = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=HCM)
    span = span_of(period, day, VN)
    base = baseline(VN, span, now)
    assert base.previous == previous(span, VN)
    assert 0 <= base.fraction < 1
    if base.whole_through is not None:
        assert base.previous.start <= base.whole_through <= base.previous.end
    if base.partial_day is not None:
        assert base.same_point and base.previous.contains(base.partial_day)
        assert is_working_day(VN, base.partial_day)
    if not base.same_point:
        assert base.whole_through == base.previous.end and base.partial_day is None


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("word", "period"),
    [
        ("day", "day"),
        ("today", "day"),
        ("hôm nay", "day"),
        ("Hom Nay", "day"),
        ("homnay", "day"),
        ("ngày", "day"),
        ("ngay", "day"),
        ("week", "week"),
        ("tuần", "week"),
        ("tuan", "week"),
        ("TUẦN NÀY", "week"),
        ("month", "month"),
        ("tháng", "month"),
        ("thang", "month"),
        ("quarter", "quarter"),
        ("quý", "quarter"),
        ("quy", "quarter"),
        ("year", "year"),
        ("năm", "year"),
        ("nam", "year"),
        ("  Weekly ", "week"),
    ],
)
def test_parse_period_words(word: str, period: Period) -> None:
    assert parse_period(word) == period


@pytest.mark.parametrize("word", ["", "hôm qua", "last week", "calls", "tuầnn", "q", "ngày mai"])
def test_parse_period_rejects_other_words(word: str) -> None:
    assert parse_period(word) is None


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("tuần trước", PeriodRef("week", -1)),
        ("tuan truoc", PeriodRef("week", -1)),
        ("last month", PeriodRef("month", -1)),
        ("tháng sau", PeriodRef("month", 1)),
        ("năm ngoái", PeriodRef("year", -1)),
        ("hôm qua", PeriodRef("day", -1)),
        ("yesterday", PeriodRef("day", -1)),
        ("quý này", PeriodRef("quarter", 0)),
    ],
)
def test_parse_period_ref(text: str, ref: PeriodRef) -> None:
    assert parse_period_ref(text) == ref


def test_resolve_period_ref() -> None:
    last_week = resolve_period_ref(PeriodRef("week", -1), d("2026-11-25"), VN)
    assert (last_week.start, last_week.end) == (d("2026-11-16"), d("2026-11-22"))
    yesterday = resolve_period_ref(PeriodRef("day", -1), d("2026-01-01"), VN)
    assert yesterday.start == d("2025-12-31")


# --------------------------------------------------------------------------- properties

ZONES = ["Asia/Ho_Chi_Minh", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
days_st = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
periods_st = st.sampled_from(PERIODS)


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    """Draw a varied team calendar."""
    start_minutes = draw(st.integers(0, 23 * 60))
    end_minutes = draw(st.integers(start_minutes + 1, 24 * 60 - 1))
    near = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
    return WorkCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        week_start=draw(st.integers(0, 6)),
        working_weekdays=draw(st.frozensets(st.integers(0, 6))),
        work_start=time(start_minutes // 60, start_minutes % 60),
        work_end=time(end_minutes // 60, end_minutes % 60),
        country=draw(st.sampled_from(["VN", "US", "DE", None])),
        extra_working_days=draw(st.frozensets(near, max_size=5)),
        days_off=draw(st.frozensets(near, max_size=5)),
        official_workdays=draw(st.booleans()),
    )


def start_of(cal: WorkCalendar, day: date) -> datetime:
    """Return the first instant of ``day`` in the calendar's timezone."""
    return local_instant(cal, day, time(0))


@given(period=periods_st, day=days_st, cal=calendars())
def test_span_contains_its_day_and_round_trips_its_key(
    period: Period, day: date, cal: WorkCalendar
) -> None:
    span = span_of(period, day, cal)
    assert span.contains(day)
    assert span.period == period
    assert span_from_key(span.key) == span
    assert span_of(period, span.start, cal) == span == span_of(period, span.end, cal)


@given(period=periods_st, day=days_st, cal=calendars())
def test_spans_tile_time(period: Period, day: date, cal: WorkCalendar) -> None:
    span = span_of(period, day, cal)
    after, before = next_span(span, cal), previous(span, cal)
    assert after.start == span.end + timedelta(days=1)
    assert before.end == span.start - timedelta(days=1)
    assert previous(after, cal) == span == next_span(before, cal)
    assert len({span.key, after.key, before.key}) == 3


@given(day=days_st, cal=calendars())
def test_week_spans_are_seven_days_from_week_start(day: date, cal: WorkCalendar) -> None:
    week = span_of("week", day, cal)
    assert week.days == 7
    assert week.start.weekday() == cal.week_start


@given(day=days_st, cal=calendars())
def test_working_day_rule(day: date, cal: WorkCalendar) -> None:
    expected = day not in cal.days_off and (
        day in cal.extra_working_days
        or day_kind(cal, day) == "make_up"
        or (day.weekday() in cal.working_weekdays and not is_holiday(cal, day))
    )
    assert is_working_day(cal, day) == expected


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    period=periods_st,
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    cal=calendars(),
    offsets=st.tuples(st.integers(0, 400 * 86400), st.integers(0, 400 * 86400)),
)
def test_elapsed_share_is_a_monotonic_share(
    period: Period, day: date, cal: WorkCalendar, offsets: tuple[int, int]
) -> None:
    span = span_of(period, day, cal)
    origin = start_of(cal, span.start) - timedelta(days=2)
    earlier, later = (origin + timedelta(seconds=s) for s in sorted(offsets))
    first, second = elapsed_share(cal, span, earlier), elapsed_share(cal, span, later)
    assert 0.0 <= first <= second <= 1.0
    assert elapsed_share(cal, span, start_of(cal, span.start)) == 0.0
    assert elapsed_share(cal, span, start_of(cal, span.end + timedelta(days=1))) == 1.0


@settings(deadline=None)
@given(
    per=periods_st,
    month_day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    cal=calendars(),
    value=st.floats(min_value=0, max_value=1e9),
)
def test_prorate_is_additive_over_days(
    per: Period, month_day: date, cal: WorkCalendar, value: float
) -> None:
    month = span_of("month", month_day, cal)
    by_day = [prorate(value, per, span_of("day", day, cal), cal) for day in month.dates()]
    assert math.isclose(sum(by_day), prorate(value, per, month, cal), rel_tol=1e-9, abs_tol=1e-6)
    if per == "month" and count_working_days(cal, month.start, month.end):
        assert math.isclose(sum(by_day), value, rel_tol=1e-9, abs_tol=1e-6)


@settings(deadline=None)
@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    cal=calendars(),
    value=st.floats(min_value=0, max_value=1e9),
)
def test_prorate_over_tiling_spans_sums_back(day: date, cal: WorkCalendar, value: float) -> None:
    year = span_of("year", day, cal)
    assume(count_working_days(cal, year.start, year.end) > 0)
    quarters = [span_of("quarter", date(year.start.year, m, 1), cal) for m in (1, 4, 7, 10)]
    months = [span_of("month", date(year.start.year, m, 1), cal) for m in range(1, 13)]
    for parts in (quarters, months):
        total = sum(prorate(value, year, part, cal) for part in parts)
        assert math.isclose(total, value, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(prorate(value, "year", year, cal), value, rel_tol=1e-9, abs_tol=1e-6)


@settings(deadline=None)
@given(
    period=periods_st,
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    cal=calendars(),
    actual=st.floats(min_value=0, max_value=1e6),
    target=st.floats(min_value=1e-3, max_value=1e6),
)
def test_pace_from_start_to_end(
    period: Period, day: date, cal: WorkCalendar, actual: float, target: float
) -> None:
    span = span_of(period, day, cal)
    at_start = elapsed_share(cal, span, start_of(cal, span.start))
    assert pace(actual, target, at_start) is None
    at_end = elapsed_share(cal, span, start_of(cal, span.end + timedelta(days=1)))
    result = pace(actual, target, at_end)
    assert result is not None and math.isclose(result, actual / target)


@settings(deadline=None)
@given(
    period=periods_st,
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    cal=calendars(),
    bounds=st.tuples(
        st.none() | st.dates(min_value=date(2024, 6, 1), max_value=date(2028, 6, 30)),
        st.none() | st.dates(min_value=date(2024, 6, 1), max_value=date(2028, 6, 30)),
    ),
)
def test_membership_share_bounds(
    period: Period, day: date, cal: WorkCalendar, bounds: tuple[date | None, date | None]
) -> None:
    span = span_of(period, day, cal)
    joined, left = bounds
    share = membership_share(cal, span, joined, left)
    assert 0.0 <= share <= 1.0
    if (joined is None or joined <= span.start) and (left is None or left >= span.end):
        assert share == 1.0
    if (joined is not None and joined > span.end) or (left is not None and left < span.start):
        assert share == 0.0


@settings(deadline=None)
@given(
    period=periods_st,
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    cal=calendars(),
    offset=st.integers(0, 400 * 86400),
)
def test_remaining_working_days_consistent(
    period: Period, day: date, cal: WorkCalendar, offset: int
) -> None:
    span = span_of(period, day, cal)
    now = start_of(cal, span.start) - timedelta(days=2) + timedelta(seconds=offset)
    today = local_today(cal, now)
    with_today = remaining_working_days(cal, span, now, include_today=True)
    without = remaining_working_days(cal, span, now, include_today=False)
    counted_today = span.contains(today) and is_working_day(cal, today)
    assert with_today - without == (1 if counted_today else 0)
    total = count_working_days(cal, span.start, span.end)
    assert 0 <= without <= with_today <= total
    if today < span.start:
        assert with_today == without == total
